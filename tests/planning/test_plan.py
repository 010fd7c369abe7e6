"""`plan` on sample exports: counts add up, duplicates and quality issues are found, no secret leaks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cli.plan_cmd import register
from shared.planning import plan_document, plan_export
from shared.planning.estimate import estimate_import
from shared.planning.guard import DuplicateGuard
from shared.profiles import load_profile

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
REQUIRED_KEYS = {
    "total",
    "valid",
    "rejected",
    "by_reason",
    "identities",
    "passwords",
    "mfa",
    "attributes",
    "duplicates",
    "estimate",
}
CASES = [
    ("auth0", SAMPLES / "auth0" / "users.ndjson", None),
    ("firebase", SAMPLES / "firebase" / "users.json", SAMPLES / "firebase" / "mapping.toml"),
    ("keycloak", SAMPLES / "keycloak" / "acme-realm.json", None),
    ("cognito", SAMPLES / "cognito" / "list-users.json", None),
    ("cognito", SAMPLES / "cognito" / "import.csv", None),
    ("okta", SAMPLES / "okta" / "users.csv", None),
    ("b2c", SAMPLES / "b2c" / "users.json", None),
    ("csv", SAMPLES / "csv" / "users.csv", SAMPLES / "csv" / "mapping.toml"),
]


def app() -> typer.Typer:
    cli = typer.Typer(pretty_exceptions_enable=False)
    register(cli)
    cli.callback()(lambda: None)
    return cli


def plan(source: str, export: Path, mapping: Path | None = None, apps: int = 1) -> dict:  # type: ignore[type-arg]
    result = plan_export(export, load_profile(source, mapping), tenant="contoso.onmicrosoft.com", apps=apps)
    return plan_document(result)


@pytest.mark.parametrize(("source", "export", "mapping"), CASES)
def test_cli_writes_plan_json_and_html(source: str, export: Path, mapping: Path | None, tmp_path: Path) -> None:
    args = ["plan", str(export), "--source", source, "--out", str(tmp_path)]
    if mapping:
        args += ["--mapping", str(mapping)]
    result = CliRunner().invoke(app(), args, env={"COLUMNS": "400"})  # a long tmp path must not wrap mid-name
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "plan.json").read_text())
    assert set(doc) >= REQUIRED_KEYS
    assert doc["total"] == doc["valid"] + doc["rejected"] > 0
    assert sum(doc["by_reason"].values()) == doc["rejected"]
    assert sum(doc["passwords"]["paths"].values()) == doc["valid"]
    assert (tmp_path / "plan.html").read_text().startswith("<!DOCTYPE html>")
    assert "ready to import" in result.stdout and "plan.json" in result.stdout


def test_auth0_plan_figures() -> None:
    doc = plan("auth0", SAMPLES / "auth0" / "users.ndjson")
    assert (doc["total"], doc["valid"], doc["rejected"]) == (9, 6, 3)
    assert doc["by_reason"] == {"invalid_email": 1, "duplicate_identity": 1, "no_sign_in_identity": 1}
    # the md5-crypt user can't keep the password: mode auto sends it to reset instead of dropping it
    assert doc["passwords"]["reset_fallbacks"] == {"unsupported_hash_algorithm": 1}
    assert {"feature": "password hash not usable (unsupported_hash_algorithm): these users reset instead",
            "users": 1} in doc["does_not_map"]  # fmt: skip
    assert doc["duplicates"]["emails"] == 1 and doc["quality"]["same email on two users"] == 1
    assert doc["quality"]["invalid emails"] == 1 and doc["quality"]["unsupported hash algorithms"] == 1
    assert doc["passwords"]["hash_algorithms"] == {"bcrypt": 2, "crypt-1": 1}
    assert doc["identities"]["federated_by_provider"] == {"google.com": 1, "facebook.com": 1}
    assert doc["attributes"]["loyalty_tier"]["maps_to"] == "extension_<appId>_loyalty_tier"
    assert doc["attributes"]["marketing_opt_in"]["type"] == "Boolean"
    features = " ".join(row["feature"] for row in doc["does_not_map"])
    assert doc["groups"]["members"] == {"customer": 1}  # app_metadata.roles
    assert "passwordless SMS" in features and "MFA enrolment 'guardian'" in features


def test_duplicate_legacy_id_is_rejected_once(tmp_path: Path) -> None:
    export = tmp_path / "users.csv"
    export.write_text("legacyId,email\n1,a@example.com\n1,b@example.com\n2,A@Example.com\n3,c@example.com\n")
    doc = plan("csv", export)
    assert (doc["total"], doc["valid"], doc["rejected"]) == (4, 2, 2)
    assert doc["by_reason"] == {"duplicate_legacy_id": 1, "duplicate_identity": 1}
    assert doc["duplicates"]["legacy_ids"] == 1 and doc["duplicates"]["emails"] == 1


def test_non_ascii_plaintext_password_is_counted_and_goes_jit(tmp_path: Path) -> None:
    export = tmp_path / "users.csv"
    export.write_text(
        "legacyId,email,password\n1,a@example.com,Pässw0rd!x\n2,b@example.com,Passw0rd!x\n", encoding="utf-8"
    )
    doc = plan("csv", export)
    assert doc["quality"]["non-ASCII passwords"] == 1
    assert doc["passwords"]["paths"] == {"jit": 1, "plaintext": 1}


def test_keycloak_plan_lists_totp_as_not_mapping_and_roles_as_groups() -> None:
    doc = plan("keycloak", SAMPLES / "keycloak" / "acme-realm.json")
    assert doc["mfa"]["methods"] == {"totp": 1}
    features = " ".join(row["feature"] for row in doc["does_not_map"])
    assert "TOTP" in features and "group memberships" in features
    assert doc["groups"]["members"] == {"premium": 1, "customer": 1}  # a group and a realm role


def test_no_secret_reaches_the_plan(tmp_path: Path) -> None:
    secrets = []
    for line in (SAMPLES / "auth0" / "users.ndjson").read_text().splitlines():
        record = json.loads(line)
        if "passwordHash" in record:
            secrets.append(record["passwordHash"])
    firebase = json.loads((SAMPLES / "firebase" / "users.json").read_text())
    secrets += [u["passwordHash"] for u in firebase["users"] if "passwordHash" in u]
    secrets.append(
        "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA=="
    )  # signer key
    for source, export, mapping in CASES[:2]:
        out = tmp_path / source
        args = ["plan", str(export), "--source", source, "--out", str(out)] + (
            ["--mapping", str(mapping)] if mapping else []
        )
        result = CliRunner().invoke(app(), args)
        texts = [result.output, (out / "plan.json").read_text(), (out / "plan.html").read_text()]
        for secret in secrets:
            assert all(secret not in text for text in texts)


def test_estimate_follows_the_write_quotas_as_the_runs_budget_paces_them() -> None:
    one = estimate_import(300_000, 0, apps=1)
    # 3,000 writes / 150 s, 2 % under it (WriteQuota.headroom) less the bucket's 40, spread over the window plus a
    # lease's 2 s (QUOTA_LEASE_S), the first 40 at once — what the shared bucket grants, not the bare quota
    assert one.per_app_rate == 20 and one.rate == pytest.approx(2_900 / 152)
    assert one.seconds == pytest.approx((300_000 - 40) / (2_900 / 152))
    assert estimate_import(300_000, 0, apps=1, lease_s=0).rate == pytest.approx(2_900 / 150)  # ThrottleBudget's
    four = estimate_import(300_000, 0, apps=4)
    assert four.limited_by == "tenant" and four.rate == pytest.approx((18_000 * 0.98 - 40) / 302)
    assert estimate_import(300_000, 0, apps=6).seconds == four.seconds  # the tenant caps it
    assert estimate_import(300_000, 0, apps=3).limited_by == "app registrations"  # 3 × 19.08 < 58.28
    doc = plan("auth0", SAMPLES / "auth0" / "users.ndjson", apps=2)
    assert doc["estimate"]["apps"] == 2 and doc["estimate"]["writes_per_second"] == round(2 * 2_900 / 152, 2)


def test_estimate_counts_batch_requests_20_writes_each_and_lone_writes_one_each() -> None:
    estimate = estimate_import(1_001, 2, 1, {"mfa methods": 41, "group memberships": 20, "groups created": 3})

    assert estimate.requests_by_kind == {
        "users": 51, "extension properties": 2, "mfa methods": 3, "group memberships": 1, "groups created": 3,
    }  # fmt: skip
    assert estimate.as_dict()["requests"] == 60


def test_html_escapes_names_from_the_export(tmp_path: Path) -> None:
    export = tmp_path / "users.ndjson"
    export.write_text(
        json.dumps({"user_id": "auth0|1", "email": "a@example.com", "user_metadata": {"<script>x": "1"}}) + "\n"
    )
    result = CliRunner().invoke(app(), ["plan", str(export), "--source", "auth0", "--out", str(tmp_path / "o")])
    html = (tmp_path / "o" / "plan.html").read_text()
    # Odd names are shown as a safe prefix (a key name may be a pasted secret); HTML escaping stays.
    assert result.exit_code == 0 and "<script>" not in html and "?script?…" in html


def test_duplicate_guard() -> None:
    guard = DuplicateGuard(capacity=4)
    keys = [f"auth0|{i}" for i in range(10_000)]
    assert all(guard.add(k) for k in keys)
    assert not any(guard.add(k) for k in keys[::7])
    assert "auth0|5" in guard and "auth0|10000" not in guard
    assert len(guard) == 10_000 and guard.memory_bytes <= 32 * 10_000 * 2


def test_bad_profile_is_a_one_line_error(tmp_path: Path) -> None:
    mapping = tmp_path / "m.toml"
    mapping.write_text('[fields]\nemial = "x"\n')
    result = CliRunner().invoke(
        app(), ["plan", str(SAMPLES / "auth0" / "users.ndjson"), "--source", "auth0", "--mapping", str(mapping)]
    )
    assert result.exit_code == 2
    assert (
        result.stderr.strip()
        == f"error: {mapping}: fields: 'emial' is not an interchange field; choose from: "
        + result.stderr.split("choose from: ")[1].strip()
    )
