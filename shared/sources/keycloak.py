"""The `keycloak` source: a realm export (`kc.sh export`), one file or a folder of <realm>-users-N.json.

Streams each file's `users` array. Password credentials become PasswordHash from `secretData` and
`credentialData` (pbkdf2-sha1/256/512, argon2 → PHC string, bcrypt); OTP credentials become TOTP MFA
methods; `groups` (paths without the leading "/") and realm roles (but the built-ins default-roles-<realm>,
offline_access, uma_authorization) become groups for the profile's [groups] table; client roles, required
actions and other vendor features are counted as not mapping.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shared.reasons import Reason
from shared.sources.assemble import extract, finish
from shared.sources.base import SourceItem, SourceOptions, SourceReject, UnreadableExport
from shared.sources.fieldmap import FieldMap
from shared.sources.hashes import from_keycloak
from shared.sources.jsonstream import stream_array
from shared.sources.roles import add_groups, string_list

_BUILT_IN_ROLES = frozenset({"offline_access", "uma_authorization"})
_USERS_FILE = re.compile(r".*-users-(\d+)\.json(\.gz)?$")


def export_files(path: Path) -> list[Path]:
    """The file itself, or a folder's `*-users-N.json` files in N order (the realm file if there are none)."""
    if not path.is_dir():
        return [path]
    numbered = sorted(
        (p for p in path.iterdir() if _USERS_FILE.match(p.name)),
        key=lambda p: int(_USERS_FILE.match(p.name).group(1)),  # type: ignore[union-attr]
    )
    if numbered:
        return numbered
    realms = sorted(p for p in path.iterdir() if p.name.endswith(("-realm.json", "-realm.json.gz")))
    if not realms:
        raise UnreadableExport(path, None, "folder holds no <realm>-users-N.json or <realm>-realm.json file")
    return realms


def read_keycloak(path: Path, options: SourceOptions) -> Iterator[SourceItem]:
    fieldmap = FieldMap(options)
    providers = options.identity_providers
    for file in export_files(path):
        for line, native in stream_array(file, frozenset({"users"}), what="Keycloak realm"):
            if isinstance(native, SourceReject):
                yield native
                continue
            if not isinstance(native, dict):
                yield SourceReject(line, None, Reason.INVALID_RECORD, "a user must be a JSON object")
                continue
            if native.get("serviceAccountClientId"):
                continue  # a client's service account, not a customer
            yield _user(line, native, fieldmap, providers)


def map_keycloak_user(
    native: dict[str, Any], fieldmap: FieldMap, providers: dict[str, str], line: int = 0
) -> SourceItem:
    """One Keycloak UserRepresentation (a realm-export entry or an Admin API `GET …/users/{id}` answer) →
    SourceRecord or SourceReject, exactly as read_keycloak maps it. For the coexistence sync."""
    return _user(line, native, fieldmap, providers)


def _user(line: int, native: dict[str, Any], fieldmap: FieldMap, providers: dict[str, str]) -> SourceItem:
    fields = extract(line, fieldmap, native)
    if isinstance(fields, SourceReject):
        return fields
    links = []
    for link in native.get("federatedIdentities") or ():
        if isinstance(link, dict) and link.get("identityProvider") and link.get("userId"):
            provider = str(link["identityProvider"])
            links.append({"provider": providers.get(provider, provider), "subject": str(link["userId"])})
    fields["identities"] = links
    mfa: list[dict[str, str]] = []
    for credential in native.get("credentials") or ():
        if not isinstance(credential, dict):
            continue
        kind = credential.get("type")
        if kind == "password" and "password" not in fields:
            password_hash = from_keycloak(
                str(credential.get("secretData") or ""), str(credential.get("credentialData") or "")
            )
            if password_hash is None:
                return SourceReject(
                    line, fields.get("legacyId"), Reason.INVALID_RECORD, "password credential is unreadable"
                )
            fields["password"] = {"hash": password_hash}
        elif kind == "otp":
            secret = from_keycloak_otp(credential)
            if secret:
                mfa.append({"type": "totp", "value": secret})
        elif kind:
            fieldmap.unmapped.note(f"credential type '{kind}' (e.g. WebAuthn/passkeys: users re-register)")
    if mfa:
        fields["mfa"] = mfa
    add_groups(fields, [g.lstrip("/") for g in string_list(native.get("groups"))])
    add_groups(fields, [r for r in string_list(native.get("realmRoles")) if not _built_in_role(r)])
    _note_unmapped(native, fieldmap)
    return finish(line, fields)


def _built_in_role(name: str) -> bool:
    """Roles Keycloak gives every user of a realm (its default composite role and what that holds), not
    authorization the realm's admins assigned: skipped, so they don't count as groups of every user."""
    return name.startswith("default-roles-") or name in _BUILT_IN_ROLES


def from_keycloak_otp(credential: dict[str, Any]) -> str | None:
    try:
        secret = json.loads(str(credential.get("secretData") or "{}"))
    except (json.JSONDecodeError, RecursionError):
        return None
    value = secret.get("value") if isinstance(secret, dict) else None
    return str(value) if value else None


def _note_unmapped(native: dict[str, Any], fieldmap: FieldMap) -> None:
    if native.get("clientRoles"):
        fieldmap.unmapped.note("client roles (per-client authorization: map realm roles or groups instead)")
    for action in native.get("requiredActions") or ():
        fieldmap.unmapped.note(f"required action '{action}'")
