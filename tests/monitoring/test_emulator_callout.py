"""Entra's side of a sign-in: the emulator calls our real JIT endpoint as Entra does, and applies its answer.

The endpoint runs with production token and JWE rules (only tenant, authority, audience and key are set), so an
accepted callout proves the emulator's token (iss, aud, azp, RS256 via its OIDC metadata) and JWE are Entra-shaped.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from shared.config import ENTRA_EVENTS_APP_ID, JitSettings
from tests.monitoring.jit_cutover_rig import RANDOM_PASSWORD, cutover_rig

LEGACY = "Legacy!Passw0rd"


async def test_migrate_password_clears_flag_and_next_sign_in_skips_the_extension(tmp_path: Path) -> None:
    async with cutover_rig(tmp_path) as rig:
        defaults = JitSettings()
        assert rig.settings.CALLER_APP_ID == ENTRA_EVENTS_APP_ID == defaults.CALLER_APP_ID
        assert rig.settings.TOKEN_ALGORITHMS == defaults.TOKEN_ALGORITHMS
        assert rig.settings.JWE_ALGORITHMS == defaults.JWE_ALGORITHMS and rig.settings.ISSUERS == []
        user = await rig.create_jit_user("casey@contoso.com", LEGACY)
        assert await rig.flag(user) is True

        first = await rig.sign_in("casey@contoso.com", LEGACY)
        assert first["errorCode"] == 0
        assert first["callout"]["action"] == "MigratePassword" and first["callout"]["attempts"] == 1
        assert await rig.flag(user) is False
        assert await rig.vault.load(user) is None  # the endpoint deleted the legacy hash (R24)
        calls_after_first = (await rig.sim_stats())["calloutRequests"]
        outcomes_after_first = rig.jit_outcomes()

        second = await rig.sign_in("casey@contoso.com", LEGACY)
        assert second["errorCode"] == 0 and "callout" not in second
        assert (await rig.sim_stats())["calloutRequests"] == calls_after_first == 1
        assert rig.jit_outcomes() == outcomes_after_first == 1


async def test_wrong_password_is_retry_and_logged_50126_with_the_callout_result(tmp_path: Path) -> None:
    async with cutover_rig(tmp_path) as rig:
        user = await rig.create_jit_user("drew@contoso.com", LEGACY)
        outcome = await rig.sign_in("drew@contoso.com", "Wrong!Passw0rd")
        assert outcome["errorCode"] == 50126 and outcome["callout"]["action"] == "Retry"
        assert await rig.flag(user) is True
        await rig.control.post("/_emulator/signIns/flush")
        logs = (await rig.graph.get("/auditLogs/signIns")).json()["value"]
        record = next(r for r in logs if r["id"] == outcome["id"])
        assert record["status"]["errorCode"] == 50126 and record["appId"] == rig.customer_app
        assert record["userId"] == user and record["correlationId"] == outcome["correlationId"]
        listener = record["appliedEventListeners"][0]
        assert listener["executedListenerId"] == rig.config.listener_id
        assert listener["handlerResult"]["customExtensionId"] == rig.config.extension_id
        assert listener["handlerResult"]["httpStatus"] == 200 and listener["handlerResult"]["numberOfAttempts"] == 1


async def test_right_random_password_unknown_user_disabled_and_unflagged_never_call(tmp_path: Path) -> None:
    async with cutover_rig(tmp_path) as rig:
        await rig.create_jit_user("erin@contoso.com", LEGACY)
        assert (await rig.sign_in("erin@contoso.com", RANDOM_PASSWORD))["errorCode"] == 0
        assert (await rig.sign_in("nobody@contoso.com", LEGACY))["errorCode"] == 50034
        disabled = await rig.create_jit_user("finn@contoso.com", LEGACY)
        await rig.graph.patch(f"/users/{disabled}", json={"accountEnabled": False})
        assert (await rig.sign_in("finn@contoso.com", LEGACY))["errorCode"] == 50057
        other_app = await rig.sign_in("erin@contoso.com", LEGACY, app_id="d0d0d0d0-0000-4000-8000-000000000002")
        assert other_app["errorCode"] == 50126 and "callout" not in other_app  # listener is for rig.customer_app
        assert (await rig.sim_stats())["calloutRequests"] == 0


async def test_a_token_for_another_audience_is_refused_by_our_endpoint(tmp_path: Path) -> None:
    """The check is real: point the extension's resourceId elsewhere and our endpoint answers 401 (1003002)."""
    async with cutover_rig(tmp_path) as rig:
        user = await rig.create_jit_user("gale@contoso.com", LEGACY)
        extension = rig.emulator.tenant.callouts.extensions[rig.config.extension_id]
        apps = rig.emulator.tenant.state.applications.values()
        app = next(a for a in apps if a["appId"] == rig.config.extension_app_id)
        app["identifierUris"] = [*app["identifierUris"], "api://somewhere-else"]
        extension["authenticationConfiguration"] = {
            **extension["authenticationConfiguration"],
            "resourceId": "api://somewhere-else",
        }
        outcome = await rig.sign_in("gale@contoso.com", LEGACY)
        assert outcome["errorCode"] == 1003002 and outcome["callout"]["httpStatus"] == 401
        assert await rig.flag(user) is True


async def test_endpoint_down_is_1003005_or_unexpected_after_one_retry(tmp_path: Path) -> None:
    async with cutover_rig(tmp_path) as rig:
        await rig.create_jit_user("hale@contoso.com", LEGACY)
        extension = rig.emulator.tenant.callouts.extensions[rig.config.extension_id]
        extension["endpointConfiguration"] = {"targetUrl": "http://127.0.0.1:9/api/password-submit"}
        outcome = await rig.sign_in("hale@contoso.com", LEGACY)
        assert outcome["callout"]["attempts"] == 2 and outcome["callout"]["action"] is None
        assert outcome["errorCode"] in (1003001, 1003005)


async def test_callout_config_validation(tmp_path: Path) -> None:
    async with cutover_rig(tmp_path) as rig:
        bad = await rig.graph.post(
            "/identity/customAuthenticationExtensions",
            json={
                "@odata.type": "#microsoft.graph.onPasswordSubmitCustomExtension",
                "endpointConfiguration": {"targetUrl": "http://example.com/x"},
                "authenticationConfiguration": {"resourceId": "api://x"},
            },
        )
        assert bad.status_code == 400
        listed = await rig.graph.get("/identity/authenticationEventListeners")
        assert [item["id"] for item in listed.json()["value"]] == [rig.config.listener_id]
        assert isinstance(rig.graph, httpx.AsyncClient)
