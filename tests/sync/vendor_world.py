"""A seeded legacy world inside a vendor emulator (Auth0, Okta, Keycloak) for the coexistence rehearsal.

`VendorWorld(source, users, seed)` seeds `users` native users into the vendor's emulator (emulator.legacy), gives
the bulk export as the vendor writes it, and `step()` applies one random change through the emulator the way an
admin or the user would (create, profile update, email change, disable, enable, delete, password change), so the
vendor's own log records are the change feed. `truth()` is the legacy side read back through the bulk reader:
every current user as a LegacyUser, and None for each user deleted since the export.
"""

from __future__ import annotations

import random
import uuid
from pathlib import Path
from typing import Any

from emulator.legacy import EMULATORS, Change, LegacyEmulator
from shared.records import LegacyUser
from shared.sources import READERS
from shared.sync.feeds.records import reader_options

EXPORT_NAME = {"auth0": "export.ndjson", "okta": "export.csv", "keycloak": "acme-realm.json"}
CONFIG: dict[str, dict[str, Any]] = {  # the vendors' quirks stay on: late indexing (Auth0), late persistence (Okta)
    "auth0": {"retention_days": 30},
    "okta": {},
    "keycloak": {"events_enabled": True, "credential_events": True},
}
NAME_FIELDS = {
    "auth0": ("given_name", "family_name", "name"),
    "okta": ("firstName", "lastName", "displayName"),
    "keycloak": ("firstName", "lastName"),
}


def native_person(source: str, i: int) -> dict[str, Any]:
    email = f"user{i}@example.com"
    if source == "auth0":
        oid = f"{i:024x}"
        identity = {"provider": "auth0", "user_id": oid, "connection": "Username-Password-Authentication",
                    "isSocial": False}  # fmt: skip
        return {"user_id": f"auth0|{oid}", "email": email, "email_verified": True, "given_name": f"Given{i}",
                "family_name": f"Sur{i}", "name": f"User {i}", "created_at": "2024-01-02T03:04:05.000Z",
                "updated_at": "2024-01-02T03:04:05.000Z", "identities": [identity]}  # fmt: skip
    if source == "okta":
        stamp = "2024-01-02T03:04:05.000Z"
        return {"id": f"00u{i:017d}", "status": "ACTIVE", "created": stamp, "activated": stamp, "statusChanged": stamp,
                "lastLogin": None, "lastUpdated": stamp, "passwordChanged": stamp, "type": {"id": "oty_default"},
                "profile": {"login": email, "email": email, "firstName": f"Given{i}", "lastName": f"Sur{i}",
                            "displayName": f"User {i}"},
                "credentials": {"provider": {"type": "OKTA", "name": "OKTA"}}}  # fmt: skip
    return {"id": str(uuid.UUID(int=i + 1, version=4)), "createdTimestamp": 1_704_164_645_000, "username": f"user{i}",
            "enabled": True, "emailVerified": True, "firstName": f"Given{i}", "lastName": f"Sur{i}", "email": email,
            "attributes": {}}  # fmt: skip


def _id_of(source: str, native: dict[str, Any]) -> str:
    return str(native["user_id"] if source == "auth0" else native["id"])


def _enabled(source: str, native: dict[str, Any]) -> bool:
    if source == "auth0":
        return not native.get("blocked", False)
    if source == "okta":
        return native.get("status") != "SUSPENDED"
    return bool(native.get("enabled", True))


class VendorWorld:
    def __init__(self, source: str, users: int, seed: int) -> None:
        self.source = source
        self.rng = random.Random(seed)
        self.emulator: LegacyEmulator = EMULATORS[source](seed=seed, **CONFIG[source])
        self.emulator.seed_users([native_person(source, i) for i in range(users)])
        self.ever: set[str] = {_id_of(source, u) for u in self.emulator.users()}
        self.next_new = 50_000
        self.seq = 0

    def _natives(self) -> dict[str, dict[str, Any]]:
        return {_id_of(self.source, u): u for u in self.emulator.users()}

    def export(self, where: Path) -> Path:
        path = where / EXPORT_NAME[self.source]
        path.write_text(self.emulator.export_text(), encoding="utf-8")
        return path

    def step(self) -> str:
        """Apply one random change (as the vendor's admin API or the user); returns the op."""
        rng, source = self.rng, self.source
        self.seq += 1
        via = rng.choice(("admin", "user"))
        roll = rng.random()
        if roll < 0.12:
            fields = native_person(source, self.next_new)
            self.next_new += 1
            for key in ("user_id", "id", "identities", "created_at", "updated_at", "createdTimestamp", "status",
                        "created", "activated", "statusChanged", "lastLogin", "lastUpdated", "passwordChanged",
                        "type", "credentials"):  # fmt: skip
                fields.pop(key, None)
            fields = fields.pop("profile", fields)
            self.ever.update(self.emulator.apply_all([Change("create", fields=fields, via=via)]))
            return "create"
        natives = self._natives()
        legacy_id = rng.choice(sorted(natives))
        if roll < 0.22:
            op, fields = "delete", {}
        elif roll < 0.32:
            disabled = sorted(k for k, v in natives.items() if not _enabled(source, v))
            if disabled and rng.random() < 0.5:
                legacy_id = rng.choice(disabled)  # enable one again, so both directions are exercised
            op, fields = ("disable" if _enabled(source, natives[legacy_id]) else "enable"), {}
        elif roll < 0.45:
            email = f"moved{self.seq}.{rng.randrange(10**6)}@example.org"
            op, fields = "email", {"email": email}
        elif roll < 0.52:
            op, fields = "password", {}
        else:
            op, fields = "update", {rng.choice(NAME_FIELDS[source]): f"Name{self.seq}"}
        self.emulator.apply_all([Change(op, id=legacy_id, fields=fields, via=via)])
        return op

    def truth(self, where: Path) -> dict[str, LegacyUser | None]:
        """The legacy side now, through the bulk reader: current users, and None for the deleted ones."""
        items = READERS[self.source](self.export(where), reader_options(self.source))
        current: dict[str, LegacyUser | None] = {}
        for item in items:
            user = getattr(item, "user", None)
            assert user is not None, f"the {self.source} reader refused a legacy user: {item}"
            current[user.legacy_id] = user
        return {**dict.fromkeys(self.ever - set(current)), **current}
