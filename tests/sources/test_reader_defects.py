"""Regression tests for reader defects found under adversarial testing (issue "Data-integrity defects").

Each test is named after the promise it protects: deep JSON is one rejected record, duplicate keys
and headers never resolve silently to the last value, a malformed passwordHash is never dropped
silently, and a secret in the wrong field never travels into a reject message or the plan.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from shared.planning import plan_document, plan_export, write_plan
from shared.profiles import load_profile
from shared.reasons import Reason
from shared.sources import SourceRecord, SourceReject, UnreadableExport, get_reader

DEEP = "[" * 10_000 + "]" * 10_000
DEEP_OBJECT = '{"a":' * 10_000 + "1" + "}" * 10_000
TENANT = "contoso.onmicrosoft.com"


def _jsonl(users: list[str]) -> str:
    return "\n".join(users) + "\n"


def _array(key: str) -> Callable[[list[str]], str]:
    def build(users: list[str]) -> str:
        return "{\n" + f'"meta": {DEEP},\n"{key}": [\n' + ",\n".join(users) + "\n]}\n"

    return build


# For every JSON-reading source: (a good user's native text, how users become an export).
GOOD_USER: dict[str, Callable[[int], str]] = {
    "jsonl": lambda i: json.dumps({"legacyId": f"u{i}", "email": f"u{i}@example.com"}),
    "auth0": lambda i: json.dumps({"user_id": f"auth0|u{i}", "email": f"u{i}@example.com"}),
    "firebase": lambda i: json.dumps({"localId": f"u{i}", "email": f"u{i}@example.com"}),
    "keycloak": lambda i: json.dumps({"id": f"u{i}", "username": f"u{i}", "email": f"u{i}@example.com"}),
    "b2c": lambda i: json.dumps({"id": f"u{i}", "mail": f"u{i}@example.com", "accountEnabled": True}),
    "cognito": lambda i: json.dumps(
        {"Username": f"u{i}", "Attributes": [{"Name": "email", "Value": f"u{i}@example.com"}]}
    ),
}
EXPORT: dict[str, Callable[[list[str]], str]] = {
    "jsonl": _jsonl,
    "auth0": _jsonl,
    "firebase": _array("users"),
    "keycloak": _array("users"),
    "b2c": _array("value"),
    "cognito": _array("Users"),
}


def _write(tmp_path: Path, source: str, users: list[str]) -> Path:
    path = tmp_path / f"{source}-export.json"
    path.write_text(EXPORT[source](users), encoding="utf-8")
    return path


def _read(source: str, path: Path, mapping: Path | None = None) -> list[SourceRecord | SourceReject]:
    return list(get_reader(source)(path, load_profile(source, mapping).source_options()))


def _with_deep_value(source: str, i: int, deep: str) -> str:
    """A good user's text with one member holding `deep` (nested 10,000 levels)."""
    text = GOOD_USER[source](i)
    return text[:-1] + f', "deep": {deep}' + "}"


@pytest.mark.parametrize("source", sorted(GOOD_USER))
@pytest.mark.parametrize("deep", [DEEP, DEEP_OBJECT], ids=["arrays", "objects"])
def test_ten_thousand_deep_json_is_one_rejected_record_for_plan_and_readers(
    source: str, deep: str, tmp_path: Path
) -> None:
    users = [GOOD_USER[source](1), _with_deep_value(source, 2, deep), deep, GOOD_USER[source](4)]
    export = _write(tmp_path, source, users)
    items = _read(source, export)
    rejects = [i for i in items if isinstance(i, SourceReject)]
    records = [i for i in items if isinstance(i, SourceRecord)]
    assert {r.user.legacy_id.rsplit("u", 1)[-1] for r in records} == {"1", "4"}
    assert [r.code for r in rejects] == [Reason.JSON_TOO_DEEP, Reason.JSON_TOO_DEEP]
    doc = plan_document(plan_export(export, load_profile(source), tenant=TENANT))
    assert (doc["total"], doc["valid"], doc["rejected"]) == (4, 2, 2)


@pytest.mark.parametrize("source", sorted(GOOD_USER))
def test_a_repeated_json_key_rejects_the_record_instead_of_keeping_the_last_value(source: str, tmp_path: Path) -> None:
    text = GOOD_USER[source](2)
    key = next(k for k in json.loads(text) if k != "Attributes")
    repeated = text[:-1] + f', "{key}": "other@example.com"' + "}"
    export = _write(tmp_path, source, [GOOD_USER[source](1), repeated, GOOD_USER[source](3)])
    items = _read(source, export)
    rejects = [i for i in items if isinstance(i, SourceReject)]
    assert len(items) == 3 and [r.code for r in rejects] == [Reason.DUPLICATE_KEY]
    assert f"'{key}'" in rejects[0].message and "other@example.com" not in rejects[0].message


def test_a_repeated_password_key_is_never_resolved_to_the_last_one(tmp_path: Path) -> None:
    line = '{"legacyId": "u1", "email": "u1@example.com", "password": {"plaintext": "Aa1!first-one"}, ' \
        '"password" : {"plaintext": "Aa1!second-one"}}'  # fmt: skip
    export = tmp_path / "users.jsonl"
    export.write_text(line + "\n")
    [item] = _read("jsonl", export)
    assert isinstance(item, SourceReject) and item.code == Reason.DUPLICATE_KEY
    assert "first-one" not in item.message and "second-one" not in item.message


def test_unique_keys_with_spaces_and_colons_in_values_are_not_a_duplicate(tmp_path: Path) -> None:
    line = '{"legacyId" : "u1", "email": "u1@example.com", "displayName": "a\\": b \\":", "attributes": {"x": ":"}}'
    export = tmp_path / "users.jsonl"
    export.write_text(line + "\n")
    [item] = _read("jsonl", export)
    assert isinstance(item, SourceRecord)


@pytest.mark.parametrize("source", ["csv", "okta"])
def test_a_repeated_csv_header_is_refused_with_one_line_naming_file_and_line(source: str, tmp_path: Path) -> None:
    header = (Path(__file__).resolve().parents[2] / "samples" / source / "users.csv").read_text().splitlines()[0]
    first = header.split(",")[0]
    export = tmp_path / "users.csv"
    export.write_text(f"{header},{first}\n")
    mapping = Path(__file__).resolve().parents[2] / "samples" / "csv" / "mapping.toml" if source == "csv" else None
    with pytest.raises(UnreadableExport) as raised:
        _read(source, export, mapping)
    assert str(raised.value) == f"{export}:1: the header names the column {first!r} twice"


@pytest.mark.parametrize("value", [{"hash": "x"}, 12345, ["$2b$10$x"]], ids=["object", "number", "list"])
@pytest.mark.parametrize("source", ["auth0", "firebase"])
def test_a_malformed_password_hash_is_a_reject_never_silently_dropped(
    source: str, value: object, tmp_path: Path
) -> None:
    user = json.loads(GOOD_USER[source](2))
    user["passwordHash"] = value
    export = _write(tmp_path, source, [GOOD_USER[source](1), json.dumps(user)])
    items = _read(source, export)
    assert [type(i) for i in items] == [SourceRecord, SourceReject]
    reject = items[1]
    assert isinstance(reject, SourceReject) and reject.code == Reason.INVALID_PASSWORD_HASH
    assert reject.legacy_id is not None and reject.legacy_id.endswith("u2")


@pytest.mark.parametrize("source", ["auth0", "firebase"])
def test_a_malformed_password_hash_by_profile_choice_is_a_counted_warning_on_the_reset_path(
    source: str, tmp_path: Path
) -> None:
    user = json.loads(GOOD_USER[source](2))
    user["passwordHash"] = {"not": "a string"}
    export = _write(tmp_path, source, [GOOD_USER[source](1), json.dumps(user)])
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('[password]\nmalformed_hash = "reset"\n')
    result = plan_export(export, load_profile(source, mapping), tenant=TENANT)
    doc = plan_document(result)
    assert (doc["total"], doc["valid"], doc["rejected"]) == (2, 2, 0)
    assert result.inventory.password_paths["reset"] == 2
    assert result.unmapped.counts == {"malformed passwordHash (not a string; the user resets the password)": 1}


CANARY = "CANARY_s3cr3t_Zx9Qw7Lp2Vb8Nm4"


@pytest.mark.parametrize("source", ["jsonl", "auth0"])
def test_a_secret_in_the_wrong_field_never_reaches_rejects_or_the_plan(source: str, tmp_path: Path) -> None:
    lines = [
        # A hash pasted into the algorithm field.
        {"legacyId": "u1", "email": "u1@example.com", "password": {"hash": {"algorithm": CANARY, "value": "x"}}},
        # A secret used as a key name, at the top and inside attributes.
        {"legacyId": "u2", "email": "u2@example.com", CANARY: "x"},
        {"legacyId": "u3", "email": "u3@example.com", "attributes": {CANARY: "x", f"{CANARY}!": "y"}},
        {"legacyId": "u4", "email": "u4@example.com", "password": {"hash": {"algorithm": "bcrypt", CANARY: "v"}}},
    ]
    if source == "auth0":
        lines = [
            {"user_id": "auth0|u1", "email": "u1@example.com", "passwordHash": CANARY},
            {"user_id": "auth0|u2", "email": "u2@example.com", "user_metadata": {CANARY: "x"}},
            {"user_id": "auth0|u3", "email": "u3@example.com", "user_metadata": {f"{CANARY}!": {"a": 1}}},
        ]
    export = tmp_path / "users.json"
    export.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = plan_export(export, load_profile(source), tenant=TENANT)
    write_plan(plan_document(result), tmp_path / "out")  # what `ciam-migrate plan` writes
    written = "".join(p.read_text() for p in (tmp_path / "out").iterdir())
    rejects = [i for i in _read(source, export) if isinstance(i, SourceReject)]
    messages = "".join(i.message for i in rejects)
    # The pasted hash is refused as a hash: a reject, or (mode auto) the reset path, counted by reason.
    assert result.inventory.rejected + result.inventory.reset_fallbacks.total() >= 1
    for text in (written, messages):
        assert CANARY[:9] not in text, "more than a short prefix of a secret reached the output"
