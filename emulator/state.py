"""The tenant's objects and their indexes, plus JSON persistence.

Lookups are dict hits (by id, by (issuer, issuerAssignedId), by mail, by UPN) so a 300,000-user
tenant answers as fast as an empty one. Identity keys are case-insensitive (casefold), so two
users differing only in the case of their email are a conflict. Passwords are never stored.
Deleting a user is soft (graph docs resources/directory.md, api/directory-deleteditems-restore.md): the user
moves to deleted items, leaves every index, and can be restored for 30 days (time-scaled) unless another user
took one of its identities meanwhile. `previous` keeps the data before the last write, so a read inside the
read-after-write window can answer the old view.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.constants import EXTENSIONS_APP_DISPLAY_NAME
from emulator.extensions import ExtensionProperty

STATE_VERSION = 1
DELETED_RETENTION_S = 30 * 24 * 3600.0  # deleted users are restorable for 30 days


def utc_now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def identity_key(issuer: str, assigned_id: str) -> tuple[str, str]:
    return (issuer.casefold(), assigned_id.casefold())


@dataclass
class UserRecord:
    data: dict[str, Any]
    seq: int
    created_mono: float = field(default_factory=time.monotonic)
    updated_mono: float = 0.0  # 0: never updated since created (or loaded)
    previous: dict[str, Any] | None = None  # the data before the last update (read-after-write lag)
    deleted_mono: float = 0.0

    @property
    def id(self) -> str:
        return str(self.data["id"])


@dataclass
class SignIn:
    created: dt.datetime
    data: dict[str, Any]

    @property
    def key(self) -> tuple[dt.datetime, str]:
        return (self.created, str(self.data["id"]))


class TenantState:
    """In-memory directory of one tenant. Not thread-safe: one event loop owns it."""

    def __init__(self, tenant: str, extensions_app_id: str, extensions_app_object_id: str) -> None:
        self.tenant = tenant
        self.extensions_app_id = extensions_app_id
        self.extensions_app_object_id = extensions_app_object_id
        self.dirty = False
        self._init_empty()

    def _init_empty(self) -> None:
        self.users: dict[str, UserRecord] = {}
        self.deleted: dict[str, UserRecord] = {}  # soft-deleted users, restorable
        self.by_identity: dict[tuple[str, str], str] = {}
        self.by_mail: dict[str, set[str]] = {}
        self.by_upn: dict[str, str] = {}
        self._order: list[int] = []  # user seqs in creation order, may hold deleted seqs
        self._seq_to_id: dict[int, str] = {}
        self._next_seq = 1
        self.applications: dict[str, dict[str, Any]] = {}
        self.extension_properties: dict[str, ExtensionProperty] = {}
        self.auth_methods: dict[str, dict[str, dict[str, Any]]] = {}
        self.auth_method_posts = 0  # POSTs that reached phoneMethods/emailMethods (stats; not persisted)
        self.auth_method_posts_in_batch = 0  # of those, the ones that came as `$batch` items
        # groups.py / app_roles.py: members per group as an ordered set (dict keys), assignments per user
        self.groups: dict[str, dict[str, Any]] = {}
        self.group_members: dict[str, dict[str, None]] = {}
        self.service_principals: dict[str, dict[str, Any]] = {}
        self.app_role_assignments: dict[str, list[dict[str, Any]]] = {}
        self.sign_ins: list[SignIn] = []
        self.sign_in_ids: set[str] = set()
        self.changes: list[tuple[int, str]] = []  # (change seq, user id) for /users/delta
        self.change_seq = 0
        # Delta tokens name the generation they were issued in; a new generation means 410.
        self.delta_generation = uuid.uuid4().hex[:12]
        self.applications[self.extensions_app_object_id] = {
            "id": self.extensions_app_object_id,
            "appId": self.extensions_app_id,
            "displayName": EXTENSIONS_APP_DISPLAY_NAME,
            "createdDateTime": utc_now_iso(),
            "signInAudience": "AzureADMyOrg",
        }

    def reset(self) -> None:
        self._init_empty()
        self.dirty = True

    # ---- users -------------------------------------------------------------------------------
    @property
    def object_count(self) -> int:
        return len(self.users) + len(self.applications)

    def lookup(self, key: str) -> UserRecord | None:
        """A user by object id or by userPrincipalName, as Graph's /users/{id | upn}."""
        record = self.users.get(key)
        if record is None and "@" in key:
            user_id = self.by_upn.get(key.casefold())
            record = self.users.get(user_id) if user_id else None
        return record

    def add_user(self, data: dict[str, Any]) -> UserRecord:
        record = UserRecord(data=data, seq=self._next_seq)
        self._next_seq += 1
        self.users[record.id] = record
        self._order.append(record.seq)
        self._seq_to_id[record.seq] = record.id
        self._index(record)
        self._changed(record.id)
        return record

    def replace_user_data(self, record: UserRecord, data: dict[str, Any]) -> None:
        self._unindex(record)
        record.previous = record.data
        record.updated_mono = time.monotonic()
        record.data = data
        self._index(record)
        self._changed(record.id)

    def remove_user(self, record: UserRecord) -> None:
        """Soft delete: out of the directory and its indexes, into deleted items (restorable)."""
        self._unindex(record)
        del self.users[record.id]
        del self._seq_to_id[record.seq]
        if len(self._order) > 1024 and len(self._seq_to_id) < len(self._order) // 2:
            self._order = [s for s in self._order if s in self._seq_to_id]
        record.deleted_mono = time.monotonic()
        record.data = {**record.data, "deletedDateTime": utc_now_iso()}
        self.deleted[record.id] = record
        self._changed(record.id)

    def purge_deleted(self, retention_s: float = DELETED_RETENTION_S) -> None:
        """Deleted items older than the retention are gone for good."""
        edge = time.monotonic() - retention_s
        for user_id in [i for i, r in self.deleted.items() if r.deleted_mono < edge]:
            del self.deleted[user_id]
            self.auth_methods.pop(user_id, None)

    def identity_taken(self, record: UserRecord) -> bool:
        """Whether another live user now holds one of this (deleted) user's identities or its UPN."""
        data = record.data
        for identity in data.get("identities") or []:
            if identity_key(identity["issuer"], identity["issuerAssignedId"]) in self.by_identity:
                return True
        upn = data.get("userPrincipalName")
        return isinstance(upn, str) and upn.casefold() in self.by_upn

    def restore_user(self, record: UserRecord) -> None:
        del self.deleted[record.id]
        record.data = {k: v for k, v in record.data.items() if k != "deletedDateTime"}
        record.seq = self._next_seq
        self._next_seq += 1
        record.deleted_mono = 0.0
        record.previous = None
        record.updated_mono = time.monotonic()
        self.users[record.id] = record
        self._order.append(record.seq)
        self._seq_to_id[record.seq] = record.id
        self._index(record)
        self._changed(record.id)

    def users_after(self, after_seq: int, limit: int) -> list[UserRecord]:
        """Up to `limit` users created after `after_seq`, in creation order (stable paging)."""
        result: list[UserRecord] = []
        index = bisect.bisect_right(self._order, after_seq)
        order, seq_to_id = self._order, self._seq_to_id
        while index < len(order) and len(result) < limit:
            user_id = seq_to_id.get(order[index])
            if user_id is not None:
                result.append(self.users[user_id])
            index += 1
        return result

    def _index(self, record: UserRecord) -> None:
        data = record.data
        for identity in data.get("identities") or []:
            self.by_identity[identity_key(identity["issuer"], identity["issuerAssignedId"])] = record.id
        mail = data.get("mail")
        if mail:
            self.by_mail.setdefault(mail.casefold(), set()).add(record.id)
        upn = data.get("userPrincipalName")
        if upn:
            self.by_upn[upn.casefold()] = record.id

    def _unindex(self, record: UserRecord) -> None:
        data = record.data
        for identity in data.get("identities") or []:
            self.by_identity.pop(identity_key(identity["issuer"], identity["issuerAssignedId"]), None)
        mail = data.get("mail")
        if mail:
            ids = self.by_mail.get(mail.casefold())
            if ids is not None:
                ids.discard(record.id)
                if not ids:
                    del self.by_mail[mail.casefold()]
        upn = data.get("userPrincipalName")
        if upn:
            self.by_upn.pop(upn.casefold(), None)

    def _changed(self, user_id: str) -> None:
        self.change_seq += 1
        self.changes.append((self.change_seq, user_id))
        self.dirty = True

    def expire_delta_tokens(self) -> None:
        self.changes.clear()
        self.delta_generation = uuid.uuid4().hex[:12]

    # ---- sign-ins ----------------------------------------------------------------------------
    def add_sign_in(self, data: dict[str, Any]) -> bool:
        """Insert in (createdDateTime, id) order; False if the id is already present."""
        data = dict(data)
        data.setdefault("id", str(uuid.uuid4()))
        data.setdefault("createdDateTime", utc_now_iso())
        if data["id"] in self.sign_in_ids:
            return False
        sign_in = SignIn(created=parse_iso(str(data["createdDateTime"])), data=data)
        bisect.insort(self.sign_ins, sign_in, key=lambda s: s.key)
        self.sign_in_ids.add(str(data["id"]))
        self.dirty = True
        return True

    # ---- persistence ---------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "tenant": self.tenant,
            "users": [r.data for r in sorted(self.users.values(), key=lambda r: r.seq)],
            "deletedUsers": [r.data for r in self.deleted.values()],
            "applications": list(self.applications.values()),
            "extensionProperties": [p.to_state() for p in self.extension_properties.values()],
            "authMethods": self.auth_methods,
            "signIns": [s.data for s in self.sign_ins],
            "groups": list(self.groups.values()),
            "groupMembers": {g: list(m) for g, m in self.group_members.items()},
            "servicePrincipals": list(self.service_principals.values()),
            "appRoleAssignments": self.app_role_assignments,
        }

    def load_json(self, payload: dict[str, Any]) -> None:
        if payload.get("version") != STATE_VERSION:
            raise ValueError(f"state file version {payload.get('version')!r} is not {STATE_VERSION}")
        self._init_empty()
        self.applications = {a["id"]: a for a in payload["applications"]}
        for prop in payload["extensionProperties"]:
            parsed = ExtensionProperty.from_state(prop)
            self.extension_properties[parsed.name] = parsed
        for data in payload["users"]:
            record = self.add_user(data)
            record.created_mono = 0.0  # loaded users are old: no read-after-write lag
        for data in payload.get("deletedUsers", []):
            self.deleted[str(data["id"])] = UserRecord(
                data=data, seq=0, created_mono=0.0, deleted_mono=time.monotonic()
            )
        self.auth_methods = payload.get("authMethods", {})
        for sign_in in payload.get("signIns", []):
            self.add_sign_in(sign_in)
        self.groups = {g["id"]: g for g in payload.get("groups", [])}
        self.group_members = {g: dict.fromkeys(m) for g, m in payload.get("groupMembers", {}).items()}
        self.service_principals = {sp["id"]: sp for sp in payload.get("servicePrincipals", [])}
        self.app_role_assignments = payload.get("appRoleAssignments", {})
        # A restart invalidates delta tokens, as a lost sync state does in Entra.
        self.expire_delta_tokens()
        self.dirty = False

    def save(self, path: Path) -> None:
        """Atomic: write a sibling temp file, then rename over the old state."""
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_json()), encoding="utf-8")
        os.replace(tmp, path)
        self.dirty = False

    def load(self, path: Path) -> None:
        self.load_json(json.loads(path.read_text(encoding="utf-8")))
