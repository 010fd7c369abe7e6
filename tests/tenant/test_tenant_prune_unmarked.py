"""--prune of identity providers and extension properties, which Graph gives no field to mark as ours: only
those the tenant record names (shared/tenant/ownership.py) are deleted; ones made by hand, or found in place
when apply first ran, stay."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from emulator import EmulatorHandle
from shared.adapters.graph.client import emulator_token
from tests.tenant.tenant_rig import emulator_writes, tenant_cli

ENV = {"G_SECRET": "g-Secret-5521", "A_KEY": "a-Secret-7781", "O_SECRET": "o-Secret-9912"}
GOOGLE = '''
[[identity_providers]]
type = "Google"
display_name = "Google"
client_id = "g-client"
client_secret = "env:G_SECRET"
'''
APPLE = '''
[[identity_providers]]
type = "Apple"
display_name = "Sign in with Apple"
developer_id = "DEV1"
service_id = "com.shop.signin"
key_id = "KEY1"
certificate_data = "env:A_KEY"
'''
OIDC = '''
[[identity_providers]]
type = "OIDC"
display_name = "Club"
client_id = "club"
client_secret = "env:O_SECRET"
issuer = "https://login.club.example/"
well_known_endpoint = "https://login.club.example/.well-known/openid-configuration"
'''


def _file(tmp_path: Path, properties: str, *providers: str) -> Path:
    file = tmp_path / "tenant.toml"
    file.write_text(f"[extensions]\nproperties = {{ {properties} }}\n" + "".join(providers), encoding="utf-8")
    return file


def _graph(handle: EmulatorHandle) -> httpx.Client:
    token = emulator_token().token
    return httpx.Client(base_url=handle.graph_url, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def _by_hand(handle: EmulatorHandle) -> None:
    """Facebook and Apple providers and one custom attribute, made in the admin center (not by apply)."""
    graph = _graph(handle)
    for body in (
        {"@odata.type": "#microsoft.graph.socialIdentityProvider", "displayName": "Facebook",
         "identityProviderType": "Facebook", "clientId": "fb", "clientSecret": "fb-secret"},
        {"@odata.type": "#microsoft.graph.appleManagedIdentityProvider", "displayName": "Apple (by hand)",
         "developerId": "D", "serviceId": "S", "keyId": "K", "certificateData": "apple-key"},
    ):  # fmt: skip
        assert graph.post("/identity/identityProviders", json=body).status_code == 201
    holder = handle.server.tenant.state.applications
    extensions_app = next(a for a in holder.values() if a["displayName"].startswith("b2c-extensions-app"))
    made = graph.post(f"/applications/{extensions_app['id']}/extensionProperties",
                      json={"name": "handMade", "dataType": "String", "targetObjects": ["User"]})  # fmt: skip
    assert made.status_code == 201


def _state(handle: EmulatorHandle) -> tuple[set[str], set[str]]:
    tenant = handle.server.tenant
    providers = {p["displayName"] for p in tenant.setup.identity_providers.values()}
    return providers, {name.split("_", 2)[2] for name in tenant.state.extension_properties}


def test_prune_deletes_only_the_providers_and_properties_apply_created(start_emulator: Any, tmp_path: Path) -> None:
    handle: EmulatorHandle = start_emulator()
    _by_hand(handle)
    first = tenant_cli(handle, "apply", str(_file(tmp_path, 'tier = "String", vip = "Boolean"', GOOGLE, APPLE, OIDC)),
                       env=ENV)  # fmt: skip
    assert first.exit_code == 0, first.output
    assert "~ update    identity provider: Sign in with Apple" in first.output  # found in place: updated, not ours
    assert "+ create    tenant record" in first.output
    record = next(a for a in handle.server.tenant.state.applications.values()
                  if "ciam-migrate:key:tenant-record" in a.get("tags", []))  # fmt: skip
    assert {t for t in record["tags"] if t.count(":") >= 2 and not t.startswith("ciam-migrate:key")} == {
        "ciam-migrate:idp:Google", "ciam-migrate:idp:https://login.club.example/",
        "ciam-migrate:ext:tier", "ciam-migrate:ext:vip"}  # fmt: skip

    # The file drops Google, the club provider, Apple and the vip property.
    smaller = _file(tmp_path, 'tier = "String"')
    plan = tenant_cli(handle, "plan", str(smaller), "--prune")
    assert plan.exit_code == 0, plan.output
    assert "- delete    identity provider: Google" in plan.output
    assert "- delete    identity provider: Club" in plan.output
    assert "- delete    extension property: vip (every user's value of it is lost)" in plan.output
    assert "Apple" not in plan.output and "Facebook" not in plan.output and "handMade" not in plan.output
    assert "- delete" not in tenant_cli(handle, "plan", str(smaller)).output  # nothing deleted without --prune

    applied = tenant_cli(handle, "apply", str(smaller), "--prune", env=ENV)
    assert applied.exit_code == 0, applied.output
    providers, properties = _state(handle)
    assert providers == {"Facebook", "Sign in with Apple"}
    assert properties == {"tier", "handMade"}
    writes = emulator_writes(handle)
    again = tenant_cli(handle, "apply", str(smaller), "--prune", env=ENV)
    assert "0 changes applied: 0 create, 0 update, 0 delete" in again.output, again.output
    assert emulator_writes(handle) == writes
    for value in ENV.values():
        assert value not in first.output + plan.output + applied.output


def test_a_failed_apply_still_records_what_it_created(start_emulator: Any, tmp_path: Path) -> None:
    handle: EmulatorHandle = start_emulator()
    file = _file(tmp_path, 'tier = "String"', GOOGLE)
    file.write_text(file.read_text() + '\n[branding]\nbanner_logo_file = "missing.png"\n', encoding="utf-8")
    failed = tenant_cli(handle, "apply", str(file), env=ENV)
    assert failed.exit_code == 2 and "banner_logo_file" in failed.output  # stops after the provider was made
    assert _state(handle) == ({"Google"}, {"tier"})
    pruned = tenant_cli(handle, "apply", str(_file(tmp_path, "")), "--prune", env=ENV)
    assert pruned.exit_code == 0, pruned.output
    assert _state(handle) == (set(), set())  # the record named both, so prune may delete them
