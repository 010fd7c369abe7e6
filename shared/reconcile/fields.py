"""The fields reconcile compares: what the mapping would write, and what the tenant holds, in one shape.

Both sides become {field: value} over the same names: the user properties the import writes, the sign-in
identities (userPrincipalName left out: Entra adds it), and the extension attributes, except the JIT flag,
which is a state (shared/reconcile/model.py `migration_flag`), not a value the legacy record decides.
Identities compare case-insensitively, as Graph does (docs/limits.md).
"""

from __future__ import annotations

from typing import Any

from shared.mapping import MappingOptions
from shared.records import TargetUser

USER_PROPERTIES = ("accountEnabled", "displayName", "mail", "givenName", "surname", "mobilePhone")
IDENTITIES = "identities"


def identity_keys(identities: list[dict[str, Any]]) -> list[str]:
    keys = {
        f"{i.get('signInType')}:{str(i.get('issuer') or '').lower()}:{str(i.get('issuerAssignedId') or '').lower()}"
        for i in identities
        if i.get("signInType") != "userPrincipalName"
    }
    return sorted(keys)


def expected_fields(user: TargetUser, options: MappingOptions) -> dict[str, Any]:
    """The mapped legacy user as reconcile compares it (no password, no flag)."""
    flag = options.extension_name(options.flag_attribute)
    fields: dict[str, Any] = {
        "accountEnabled": user.account_enabled,
        "displayName": user.display_name,
        "mail": user.mail,
        "givenName": user.given_name,
        "surname": user.surname,
        "mobilePhone": user.mobile_phone,
        IDENTITIES: identity_keys([i.model_dump(by_alias=True) for i in user.identities]),
    }
    fields.update({k: v for k, v in user.extension_attributes.items() if k != flag})
    return fields


def tenant_fields(graph_user: dict[str, Any], extension_names: list[str], flag: str) -> dict[str, Any]:
    """A Graph user (JSON shape) projected on the same names; an absent property is None."""
    fields = {name: graph_user.get(name) for name in USER_PROPERTIES}
    fields[IDENTITIES] = identity_keys(list(graph_user.get(IDENTITIES) or []))
    fields.update({name: graph_user.get(name) for name in extension_names if name != flag})
    return fields


def mismatches(expected: dict[str, Any], actual: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(field, expected, actual) for every compared field that differs; None and absent are the same."""
    names = sorted(set(expected) | {k for k, v in actual.items() if v is not None})
    return [(n, expected.get(n), actual.get(n)) for n in names if expected.get(n) != actual.get(n)]
