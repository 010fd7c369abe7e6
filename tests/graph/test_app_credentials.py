"""One lane = one app registration = one app id in the token (issue 10, "Must show" 1).

The emulator runs its token endpoint for two app registrations — one with a client secret, one with a
certificate — and, with client apps configured, accepts only tokens it issued: every request's app id is
one that a real azure-identity credential proved. Two `--app` lanes → two app ids, each paced under its
own quota (0 429s); a configuration where two lanes share one identity is refused before anything runs.
"""

from __future__ import annotations

import httpx
import pytest

from cli.run_cmd import execute_run
from shared.adapters.graph.client import EmulatorCredential, emulator_token
from shared.adapters.graph.lanes import build_directory, verify_lanes
from shared.credentials import AppRegistration, CredentialConfigError, parse_apps
from tests.conftest import SAMPLE, emulator_stats, settings_for
from tests.graph.certs import self_signed
from tests.spine.test_run_against_emulator import VALID_SAMPLE_USERS, report_of

APP_SECRET = "aaaaaaaa-1111-4111-8111-00000000000a"
APP_CERT = "bbbbbbbb-2222-4222-8222-00000000000b"
PER_APP = 60  # writes per app per (scaled) 150 s window: 244 users need several windows on two lanes


def client_apps(cert_pem: str) -> list[dict[str, object]]:
    return [{"client_id": APP_SECRET, "secret": "lane-a-secret-value"},
            {"client_id": APP_CERT, "certificate_pem": cert_pem}]  # fmt: skip


async def test_two_lanes_with_two_credentials_carry_two_app_ids_each_under_its_own_quota(
    start_emulator, tmp_path, monkeypatch
) -> None:
    cert_path, cert_pem = self_signed(tmp_path, "lane-b")
    emulator = start_emulator(
        time_scale=20, client_apps=client_apps(cert_pem), quotas={"app_writes": PER_APP, "app_write_window_s": 150.0}
    )
    monkeypatch.setenv("LANE_A_SECRET", "lane-a-secret-value")
    settings = settings_for(emulator, tmp_path, APP_IDS=[f"{APP_SECRET}:secret-env=LANE_A_SECRET",
                                                         f"{APP_CERT}:cert={cert_path}"])  # fmt: skip
    settings = settings.model_copy(update={"WRITE_QUOTA": settings.WRITE_QUOTA.model_copy(update={"per_app": PER_APP})})
    run = await execute_run(SAMPLE, "jsonl", settings, show_progress=False)
    counts = report_of(tmp_path, run)["counts"]
    assert counts["created"] == VALID_SAMPLE_USERS and counts["failed"] == 0, counts

    stats = emulator_stats(emulator)
    apps = stats["apps"]
    assert set(apps) == {APP_SECRET, APP_CERT}, f"requests came from {sorted(apps)}"
    assert stats["tokensIssued"].get(APP_SECRET, 0) >= 1 and stats["tokensIssued"].get(APP_CERT, 0) >= 1
    for app_id in (APP_SECRET, APP_CERT):
        assert apps[app_id]["writes"] > PER_APP, f"{app_id} did not need more than one quota window"
        assert apps[app_id]["throttled"] == 0, f"{app_id} was not paced under its own quota: {apps[app_id]}"
    assert sum(a["writes"] for a in apps.values()) >= VALID_SAMPLE_USERS


async def test_with_client_apps_the_emulator_refuses_tokens_it_did_not_issue(start_emulator, tmp_path) -> None:
    _, cert_pem = self_signed(tmp_path, "lane-b")
    emulator = start_emulator(client_apps=client_apps(cert_pem))
    forged = emulator_token(APP_SECRET).token  # right appid claim, no signature by the tenant
    response = httpx.get(f"{emulator.base_url}/v1.0/users", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "InvalidAuthenticationToken"


async def test_a_wrong_client_secret_is_refused_by_the_token_endpoint(start_emulator, tmp_path, monkeypatch) -> None:
    _, cert_pem = self_signed(tmp_path, "lane-b")
    emulator = start_emulator(client_apps=client_apps(cert_pem))
    monkeypatch.setenv("LANE_A_SECRET", "not-the-secret")
    directory = build_directory(settings_for(emulator, tmp_path, APP_IDS=[f"{APP_SECRET}:secret-env=LANE_A_SECRET"]))
    try:
        with pytest.raises(Exception, match="AADSTS7000215"):
            await verify_lanes(directory)
    finally:
        await directory.close()


def test_two_lanes_on_one_ambient_identity_are_refused() -> None:
    with pytest.raises(CredentialConfigError, match="share one identity"):
        parse_apps([APP_SECRET, APP_CERT])
    with pytest.raises(CredentialConfigError, match="given twice"):
        parse_apps([f"{APP_SECRET}:secret-env=A", f"{APP_SECRET}:secret-env=B"])
    assert [a.kind for a in parse_apps([APP_SECRET])] == ["ambient"]  # one lane may use `az login`


async def test_two_lanes_whose_credentials_sign_in_as_one_app_are_refused(start_emulator, tmp_path) -> None:
    """The dynamic check: tokens are asked for before anything is written; one app id on two lanes is refused."""
    emulator = start_emulator()
    directory = build_directory(settings_for(emulator, tmp_path, APP_IDS=[APP_SECRET]))
    second = build_directory(settings_for(emulator, tmp_path, APP_IDS=[APP_CERT]))
    # Lane "APP_CERT" whose credential really signs in as APP_SECRET (a copied secret, a mis-set federation).
    lane = second.lanes[0]
    lane.credential = EmulatorCredential(APP_SECRET)
    directory.lanes.append(lane)
    try:
        with pytest.raises(CredentialConfigError, match=f"signs in as app {APP_SECRET}"):
            await verify_lanes(directory)
    finally:
        await directory.close()


def test_app_option_syntax_names_what_is_wrong() -> None:
    assert AppRegistration.parse("id:cert=/k.pem").kind == "certificate"
    assert AppRegistration.parse("id:managed-identity=mi").kind == "managed identity (federated)"
    assert AppRegistration.parse("id:federated-token-file=/t").kind == "workload identity"
    with pytest.raises(CredentialConfigError, match="not one of"):
        AppRegistration.parse("id:secret=hunter2")  # a secret value on the command line is not accepted
    with pytest.raises(CredentialConfigError, match="choose one"):
        AppRegistration.parse("id:cert=/k.pem:secret-env=X")
