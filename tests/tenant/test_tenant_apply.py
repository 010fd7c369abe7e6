"""`tenant apply` on a fresh emulator, again (0 changes, 0 writes counted by the emulator), export round trip,
--prune touching only our objects, and secrets that never reach the output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from emulator import EmulatorHandle
from emulator.constants import EXTENSIONS_APP_DISPLAY_NAME
from shared.adapters.graph.client import emulator_token
from tests.tenant.tenant_rig import SAMPLE, SECRETS, emulator_writes, tenant_cli


def _no_secret_in(text: str) -> None:
    for value in SECRETS.values():
        assert value not in text


def test_second_apply_changes_nothing_and_sends_no_write(start_emulator: Any) -> None:
    handle: EmulatorHandle = start_emulator()
    first = tenant_cli(handle, "apply", str(SAMPLE), env=SECRETS)
    assert first.exit_code == 0, first.output
    written = emulator_writes(handle)
    assert written >= 20  # 5 extension properties, 3 apps, JIT wiring, 4 providers, flow, branding, MFA
    assert "0 changes applied" not in first.output

    consent = "admin consent: jit-extension: Microsoft Graph CustomAuthenticationExtension.Receive.Payload"
    assert f"+ create    {consent}" in first.output

    second = tenant_cli(handle, "apply", str(SAMPLE), env=SECRETS)
    assert second.exit_code == 0, second.output
    assert "0 changes applied: 0 create, 0 update, 0 delete" in second.output
    assert "= unchanged admin consent: jit-extension" in second.output
    assert emulator_writes(handle) == written
    _no_secret_in(first.output + second.output)


def test_apply_creates_what_the_file_declares(start_emulator: Any) -> None:
    handle: EmulatorHandle = start_emulator()
    assert tenant_cli(handle, "apply", str(SAMPLE), env=SECRETS).exit_code == 0
    tenant = handle.server.tenant
    ext_app_id = handle.server.config.extensions_app_id.replace("-", "")
    props = tenant.state.extension_properties
    assert props[f"extension_{ext_app_id}_loyaltyTier"].data_type == "String"  # from samples/csv/mapping.toml
    assert props[f"extension_{ext_app_id}_newsletter"].data_type == "Boolean"
    assert props[f"extension_{ext_app_id}_toBeMigrated"].data_type == "Boolean"
    (extension,) = tenant.callouts.extensions.values()
    assert extension["clientConfiguration"] == {"timeoutInMilliseconds": 2000, "maximumRetries": 1}
    (listener,) = tenant.callouts.listeners.values()
    assert listener["handler"]["migrationPropertyId"] == f"extension_{ext_app_id}_toBeMigrated"
    assert listener["handler"]["customExtension"]["id"] == extension["id"]
    jit_app = next(
        a for a in tenant.state.applications.values() if "ciam-migrate:key:jit-extension" in a.get("tags", [])
    )
    assert jit_app["identifierUris"] == [f"api://jit.contoso-outdoor.example/{jit_app['appId']}"]
    assert extension["authenticationConfiguration"]["resourceId"] == jit_app["identifierUris"][0]
    assert jit_app["tokenEncryptionKeyId"] == jit_app["keyCredentials"][0]["keyId"]
    assert jit_app["requiredResourceAccess"][0]["resourceAccess"] == [
        {"id": "214e810f-fda8-4fd7-a475-29461495eb00", "type": "Role"}
    ]
    # Every app has its service principal; the extension app's holds Graph's Receive.Payload (admin consent).
    principals = {sp["appId"]: sp for sp in tenant.state.service_principals.values()}
    managed = [a for a in tenant.state.applications.values() if "ciam-migrate:managed" in a.get("tags", [])]
    apps = {a["appId"]: a for a in managed if "ciam-migrate:key:tenant-record" not in a["tags"]}
    assert set(principals) == set(apps)
    (grant,) = tenant.state.app_role_assignments[principals[jit_app["appId"]]["id"]]
    assert (grant["appRoleId"], grant["resourceDisplayName"], grant["principalType"]) == (
        "214e810f-fda8-4fd7-a475-29461495eb00", "Microsoft Graph", "ServicePrincipal")  # fmt: skip
    # The secrets reached Graph (resolved from the environment) and nothing else did.
    setup = tenant.setup
    assert setup.identity_providers["Google-OAUTH"]["clientSecret"] == SECRETS["GOOGLE_CLIENT_SECRET"]
    oidc = next(p for p in setup.identity_providers.values() if p["@odata.type"].endswith("oidcIdentityProvider"))
    assert oidc["clientAuthentication"]["clientSecret"] == SECRETS["CLUB_OIDC_SECRET"]
    (flow,) = setup.flows.values()
    assert len(setup.flow_apps[flow["id"]]) == 2
    assert setup.banner_logo is not None and setup.banner_logo[1] == "image/png"
    assert setup.methods == {"email": "enabled", "sms": "disabled"}


def test_export_round_trips_to_no_change(start_emulator: Any, tmp_path: Path) -> None:
    handle: EmulatorHandle = start_emulator()
    assert tenant_cli(handle, "apply", str(SAMPLE), env=SECRETS).exit_code == 0
    exported = tenant_cli(handle, "export")
    assert exported.exit_code == 0, exported.output
    _no_secret_in(exported.output)
    assert "admin_consent = true" in exported.output
    file = tmp_path / "tenant.toml"
    file.write_text(exported.output, encoding="utf-8")
    writes = emulator_writes(handle)
    plan = tenant_cli(handle, "plan", str(file), "--prune")
    assert plan.exit_code == 0, plan.output
    assert "0 changes to apply: 0 create, 0 update, 0 delete" in plan.output
    assert emulator_writes(handle) == writes


SMALL = """
[[apps]]
key = "shop-web"
display_name = "Shop"
redirect_uris = ["https://shop.example/signin-oidc"]

[[apps]]
key = "old-kiosk"
display_name = "Kiosk"

[user_flow]
display_name = "Shop sign-in"
apps = ["shop-web", "old-kiosk"]
"""


def test_prune_deletes_only_our_objects(start_emulator: Any, tmp_path: Path) -> None:
    handle: EmulatorHandle = start_emulator()
    file = tmp_path / "tenant.toml"
    file.write_text(SMALL, encoding="utf-8")
    assert tenant_cli(handle, "apply", str(file)).exit_code == 0
    token = emulator_token().token
    made = httpx.post(f"{handle.graph_url}/applications", json={"displayName": "hand-made app"},
                      headers={"Authorization": f"Bearer {token}"}, timeout=10)  # fmt: skip
    assert made.status_code == 201
    file.write_text(SMALL.replace('[[apps]]\nkey = "old-kiosk"\ndisplay_name = "Kiosk"\n', "").replace(
        ', "old-kiosk"]', "]"), encoding="utf-8")  # fmt: skip

    without = tenant_cli(handle, "plan", str(file))
    assert "application: old-kiosk" not in without.output
    assert "user flow applications: Shop sign-in apps (-" in without.output  # the flow is ours: detached
    plan = tenant_cli(handle, "plan", str(file), "--prune")
    assert "- delete    application: old-kiosk" in plan.output, plan.output
    applied = tenant_cli(handle, "apply", str(file), "--prune")
    assert applied.exit_code == 0, applied.output
    apps = handle.server.tenant.state.applications.values()
    # Kiosk is gone; the hand-made app (not ours) and the b2c-extensions-app were never touched.
    assert {a["displayName"] for a in apps} == {EXTENSIONS_APP_DISPLAY_NAME, "Shop", "hand-made app"}
    assert "0 changes to apply" in tenant_cli(handle, "plan", str(file), "--prune").output


def test_missing_secret_stops_apply_naming_the_reference(start_emulator: Any) -> None:
    handle: EmulatorHandle = start_emulator()
    env = {k: v for k, v in SECRETS.items() if k != "CLUB_OIDC_SECRET"}
    result = tenant_cli(handle, "apply", str(SAMPLE), env={**env, "CLUB_OIDC_SECRET": ""})
    assert result.exit_code == 2
    assert "env:CLUB_OIDC_SECRET" in result.output
    _no_secret_in(result.output)


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_plan_and_apply_mark_beta_endpoints(start_emulator: Any, command: str) -> None:
    handle: EmulatorHandle = start_emulator()
    result = tenant_cli(handle, command, str(SAMPLE), env=SECRETS)
    assert result.exit_code == 0, result.output
    assert "custom authentication extension: onPasswordSubmit [beta]" in result.output
    assert "authentication event listener: onPasswordSubmit [beta]" in result.output
    assert "application: shop-web [beta]" not in result.output
    _no_secret_in(result.output)


def test_admin_consent_off_then_on_grants_once_and_export_says_which(start_emulator: Any, tmp_path: Path) -> None:
    handle: EmulatorHandle = start_emulator()
    file = tmp_path / "tenant.toml"
    text = SAMPLE.read_text(encoding="utf-8").replace("admin_consent = true", "admin_consent = false")
    assert "admin_consent = false" in text
    file.write_text(text.replace('"tenant/', f'"{SAMPLE.parent}/tenant/').replace(
        '"csv/mapping.toml"', f'"{SAMPLE.parent}/csv/mapping.toml"'), encoding="utf-8")  # fmt: skip
    off = tenant_cli(handle, "apply", str(file), env=SECRETS)
    assert off.exit_code == 0, off.output
    assert "admin consent" not in off.output and not handle.server.tenant.state.app_role_assignments
    exported = tenant_cli(handle, "export").output
    assert "admin_consent = false" in exported  # the tenant as it is: no grant
    writes = emulator_writes(handle)
    on = tenant_cli(handle, "apply", str(SAMPLE), env=SECRETS)  # the sample grants it
    assert "1 changes applied: 1 create, 0 update, 0 delete" in on.output, on.output
    assert emulator_writes(handle) == writes + 1  # one POST appRoleAssignedTo, nothing else
    assert "admin_consent = true" in tenant_cli(handle, "export").output


def test_prune_removes_the_jit_wiring_with_its_service_principal_and_grant(start_emulator: Any, tmp_path: Path) -> None:
    handle: EmulatorHandle = start_emulator()
    assert tenant_cli(handle, "apply", str(SAMPLE), env=SECRETS).exit_code == 0
    file = tmp_path / "tenant.toml"
    file.write_text(SMALL, encoding="utf-8")
    plan = tenant_cli(handle, "plan", str(file), "--prune")
    assert "- delete    service principal: jit-extension" in plan.output, plan.output
    assert tenant_cli(handle, "apply", str(file), "--prune").exit_code == 0
    state = handle.server.tenant.state
    assert not any("ciam-migrate:key:jit-extension" in sp.get("tags", []) for sp in state.service_principals.values())
    assert not any(state.app_role_assignments.values())  # the grant went with the service principal
    assert "0 changes to apply" in tenant_cli(handle, "plan", str(file), "--prune").output
