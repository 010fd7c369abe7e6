"""Keycloak realm roles and groups, Auth0 app_metadata roles (and the Authorization Extension's groups and
roles) arrive as the record's groups, so the profile's [groups] table maps them and plan shows what maps."""

from __future__ import annotations

import json
from pathlib import Path

from tests.planning.test_plan import plan
from tests.sources.conftest import SAMPLES


def _realm(tmp_path: Path, users: list[dict[str, object]]) -> Path:
    file = tmp_path / "shop-realm.json"
    file.write_text(json.dumps({"realm": "shop", "users": users}), encoding="utf-8")
    return file


def test_keycloak_realm_roles_join_groups_without_the_built_in_ones(read, tmp_path: Path) -> None:
    export = _realm(tmp_path, [
        {"id": "u1", "username": "ada", "email": "ada@example.com",
         "realmRoles": ["default-roles-shop", "offline_access", "uma_authorization", "vip", "premium"],
         "groups": ["/premium", "/staff/support"], "clientRoles": {"shop-web": ["editor"]}},
        {"id": "u2", "username": "grace", "email": "grace@example.com", "realmRoles": ["default-roles-shop"]},
    ])  # fmt: skip
    result = read("keycloak", export)
    assert result.user("u1").groups == ["premium", "staff/support", "vip"]  # a group and a role named alike: once
    assert result.user("u2").groups == []
    assert any("client roles" in f for f in result.unmapped.counts)
    assert not any(f.startswith("realm") for f in result.unmapped.counts)  # realm roles map now


def test_auth0_roles_and_authorization_extension_groups(read, tmp_path: Path) -> None:
    export = tmp_path / "users.ndjson"
    lines = [
        {"user_id": "auth0|1", "email": "a@example.com", "app_metadata": {"roles": ["admin", "editor"]}},
        {"user_id": "auth0|2", "email": "b@example.com", "app_metadata": {"plan": "gold", "authorization": {
            "groups": ["Support"], "roles": ["editor"], "permissions": ["read:orders"]}}},
        {"user_id": "auth0|3", "email": "c@example.com", "app_metadata": {"roles": "admin"}},  # not a list
    ]  # fmt: skip
    export.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    result = read("auth0", export)
    assert result.user("auth0|1").groups == ["admin", "editor"]
    assert result.user("auth0|2").groups == ["Support", "editor"]
    assert result.user("auth0|3").groups == []
    notes = set(result.unmapped.counts)
    assert "app_metadata.plan (of app_metadata only roles and groups map)" in notes
    assert "app_metadata.authorization.permissions (of app_metadata only roles and groups map)" in notes
    assert not any("gold" in n or "read:orders" in n for n in notes)  # names of keys, never values


def test_a_profile_mapping_groups_from_roles_too_gives_each_name_once(read, tmp_path: Path) -> None:
    profile = tmp_path / "mapping.toml"
    profile.write_text('source = "auth0"\n[fields]\ngroups = "app_metadata.roles"\n', encoding="utf-8")
    export = tmp_path / "users.ndjson"
    export.write_text(json.dumps({"user_id": "auth0|1", "email": "a@example.com",
                                  "app_metadata": {"roles": ["admin"]}}) + "\n", encoding="utf-8")  # fmt: skip
    assert read("auth0", export, profile).user("auth0|1").groups == ["admin"]


def test_plan_shows_keycloak_roles_and_groups_mapped_and_unmapped() -> None:
    doc = plan("keycloak", SAMPLES / "keycloak" / "acme-realm.json", SAMPLES / "keycloak" / "mapping.toml")
    mapping = doc["groups"]["mapping"]
    assert mapping["premium"] == {"users": 1, "maps_to": "group 'Premium customers'"}  # a Keycloak group
    assert mapping["customer"]["maps_to"] == "unmapped"  # a realm role the table doesn't list: named, not dropped
    assert "default-roles-acme" not in mapping
    assert doc["groups"]["memberships"] == 1 and doc["groups"]["unmapped"] == {"customer": 1}


def test_plan_maps_auth0_roles_through_the_groups_table(tmp_path: Path) -> None:
    profile = tmp_path / "mapping.toml"
    profile.write_text('source = "auth0"\n[groups.map.customer]\ngroup = "Customers"\n', encoding="utf-8")
    doc = plan("auth0", SAMPLES / "auth0" / "users.ndjson", profile)
    assert doc["groups"]["mapping"]["customer"] == {"users": 1, "maps_to": "group 'Customers'"}
    assert doc["groups"]["memberships"] == 1 and not doc["groups"]["unmapped"]
