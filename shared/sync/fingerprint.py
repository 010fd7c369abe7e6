"""Fingerprints: keyed digests of what we last wrote to Entra, per user and mapped field.

The sync store keeps digests, never values: it can tell "Entra still holds what we wrote" and "legacy changed
since" without holding profile data or secrets at rest. The key (32 bytes) is the chunk sealing key's bytes run
through blake2b with a purpose tag, so a leaked store alone can't be dictionary-searched.

`written_fingerprint` is the one way a fingerprint of a write is made: by the sync after it created or updated a
user, and by the bulk import after it created one (the baseline the first snapshot diff compares with, see
shared.sync.baseline); `field_digests` is what a snapshot diff compares it with.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from shared.mapping import MappingOptions
from shared.records import LegacyUser, Password, TargetUser
from shared.sync.model import Fingerprint

_PURPOSE = b"sync-fingerprint"


class Digester:
    def __init__(self, key: bytes) -> None:
        self._key = hashlib.blake2b(key, digest_size=32, person=_PURPOSE[:16]).digest()

    def of(self, value: Any) -> str:
        canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.blake2b(canonical.encode(), key=self._key, digest_size=16).hexdigest()

    def of_password(self, password: Password | None) -> str | None:
        """A digest of the legacy password material (hash or plaintext); None when the source carries none."""
        if password is None:
            return None
        if password.hash is not None:
            h = password.hash
            salt = h.salt.get_secret_value() if h.salt else None
            return self.of(["hash", h.algorithm, h.value.get_secret_value(), salt, h.params])
        assert password.plaintext is not None
        return self.of(["plaintext", password.plaintext.get_secret_value()])


def local_identities(identities: list[dict[str, Any]], tenant: str) -> list[list[str]]:
    """The sign-in identities the sync manages (email / username of our tenant), comparable across casing."""
    return sorted(
        [str(i.get("signInType")), str(i.get("issuerAssignedId", "")).lower()]
        for i in identities
        if str(i.get("signInType", "")).lower() in ("emailaddress", "username")
        and str(i.get("issuer", "")).lower() == tenant.lower()
    )


def mapped_fields(target: TargetUser, flag_name: str, tenant: str) -> dict[str, Any]:
    """The Graph values a mapped legacy user should have, by Graph property name (flag and password excluded).

    `identities` is the comparable form of the local identities (see `local_identities`).
    """
    body = target.graph_body()
    fields: dict[str, Any] = {
        "displayName": body.get("displayName"),
        "mail": body.get("mail"),
        "givenName": body.get("givenName"),
        "surname": body.get("surname"),
        "mobilePhone": body.get("mobilePhone"),
        "accountEnabled": body.get("accountEnabled"),
        "identities": local_identities(body["identities"], tenant),
    }
    for name, value in target.extension_attributes.items():
        if name != flag_name:
            fields[name] = value
    return fields


def field_digests(digester: Digester, target: TargetUser, mapping: MappingOptions) -> dict[str, str]:
    """The digests of a mapped user's fields (`mapped_fields`), as a fingerprint keeps and a snapshot compares them."""
    flag = mapping.extension_name(mapping.flag_attribute)
    return {k: digester.of(v) for k, v in mapped_fields(target, flag, mapping.tenant).items()}


def written_fingerprint(
    digester: Digester, mapping: MappingOptions, source: str, user: LegacyUser, target: TargetUser, object_id: str,
    now: datetime,
) -> Fingerprint:  # fmt: skip
    """The fingerprint of `target` (mapped from the legacy `user` with `mapping`) just written to Entra as `object_id`:
    its fields, the legacy password material it carries, and whether it went out flagged for JIT. No seq."""
    return Fingerprint(
        source=source, legacy_id=user.legacy_id, object_id=object_id, fields=field_digests(digester, target, mapping),
        password=digester.of_password(user.password), flagged=target.password_path == "jit", updated_at=now,
    )  # fmt: skip
