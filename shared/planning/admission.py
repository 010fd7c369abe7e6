"""Admission: which records of one export may be imported — the one duplicate rule and its rejects.

In: the export's records in file order (SourceRecord), through `verdict` (map_user's decision,
shared.mapping.decide, without building the TargetUser) or `admit` (the TargetUser too). Out: the
decision or TargetUser, or a RejectedRecord with a reason code. Used by `ciam-migrate plan`
(shared/planning/run.py) and by the run's plan stage (shared/handlers/plan_export.py) through
shared/planning/single_pass.py, so a plan calls valid exactly the users the run imports.

The rule, as Graph applies it to the records the run sends:
* a legacyId is taken by the first record that carries it, whatever becomes of that record;
* a sign-in name (email, username, federated id; case-insensitive) is taken only by a record that
  is admitted: a record rejected for any reason leaves its names free for a later record.
Keys are remembered as 64-bit digests (DuplicateGuard); `deterministic=True` uses blake2b, so a
re-planned export rejects the same lines in any process (the plan stage), else Python's faster hash.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Sequence

from shared.mapping import Admissible, Identity, MappingOptions, MappingReject, decide, target_user
from shared.planning.guard import DuplicateGuard, digest
from shared.reasons import Reason
from shared.records import ObjectIdentity, RejectedRecord, SourceRecord, TargetUser

IdentityKeys = Sequence[tuple[str, str]]  # (guard key, signInType)

_CLASH_NAMES = {"emailAddress": "emails", "userName": "usernames", "federated": "federated_ids"}
_CLASH_WORDS = {"emails": "email", "usernames": "username", "federated_ids": "federated identity"}
DUPLICATE_LEGACY_ID_MESSAGE = "legacyId already seen earlier in the export"


def _blake2b_digest(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big") or 1


def identity_key(sign_in_type: str, issuer: str, issuer_assigned_id: str) -> str:
    """The guard key of one sign-in name: Graph compares identities without regard to case."""
    return f"{sign_in_type}\x1f{issuer.lower()}\x1f{issuer_assigned_id.lower()}"


def identity_keys(identities: Sequence[ObjectIdentity]) -> list[tuple[str, str]]:
    return [(identity_key(i.sign_in_type, i.issuer, i.issuer_assigned_id), i.sign_in_type) for i in identities]


def decided_keys(identities: Sequence[Identity]) -> list[tuple[str, str]]:
    """identity_keys of the identities a decision holds (signInType, issuer, issuerAssignedId)."""
    return [(f"{kind}\x1f{issuer.lower()}\x1f{assigned.lower()}", kind) for kind, issuer, assigned in identities]


def clash_name(sign_in_type: str) -> str:
    """The plan's duplicates counter a clash on this signInType counts under."""
    return _CLASH_NAMES.get(sign_in_type, "identities")


def duplicate_identity_message(clash: str) -> str:
    return f"{_CLASH_WORDS.get(clash, 'sign-in name')} already used by an earlier user"


class Admission:
    """The duplicate guards of one export, and the verdict on each record in file order."""

    def __init__(self, options: MappingOptions, *, deterministic: bool = False) -> None:
        self.options = options
        self.legacy_ids = DuplicateGuard()
        self.sign_in_names = DuplicateGuard()
        self._digest: Callable[[str], int] = _blake2b_digest if deterministic else digest
        self.duplicates: Counter[str] = Counter()  # legacy_ids, emails, usernames, federated_ids

    @property
    def memory_bytes(self) -> int:
        return self.legacy_ids.memory_bytes + self.sign_in_names.memory_bytes

    def first_sighting(self, legacy_id: str) -> bool:
        """Remember the legacy id; False when an earlier record already carried it."""
        return self.legacy_ids.add_digest(self._digest(legacy_id))

    def claim(self, keys: IdentityKeys) -> str | None:
        """Take every sign-in name of an admitted record; or, when an earlier user holds one, the clash
        name (emails, usernames, federated_ids) and take none of them."""
        guard, make = self.sign_in_names, self._digest
        digests = [make(key) for key, _ in keys]
        for key_digest, (_, kind) in zip(digests, keys, strict=True):
            if guard.holds(key_digest):
                return clash_name(kind)
        for key_digest in digests:
            guard.add_digest(key_digest)
        return None

    def duplicate_legacy_id(self, line: int, legacy_id: str) -> RejectedRecord:
        self.duplicates["legacy_ids"] += 1
        return RejectedRecord(line, legacy_id, Reason.DUPLICATE_LEGACY_ID, DUPLICATE_LEGACY_ID_MESSAGE)

    def duplicate_identity(self, line: int, legacy_id: str, clash: str) -> RejectedRecord:
        self.duplicates[clash] += 1
        return RejectedRecord(line, legacy_id, Reason.DUPLICATE_IDENTITY, duplicate_identity_message(clash))

    def verdict(
        self, record: SourceRecord, observe: Callable[[SourceRecord], None] | None = None
    ) -> Admissible | RejectedRecord:
        """The record's verdict. `observe` sees every record past the legacy-id check (plan's inventory)."""
        line, user = record.line, record.user
        if not self.first_sighting(user.legacy_id):
            return self.duplicate_legacy_id(line, user.legacy_id)
        if observe is not None:
            observe(record)
        decision = decide(user, self.options)
        if isinstance(decision, MappingReject):
            return RejectedRecord(line, user.legacy_id, decision.code, decision.message)
        clash = self.claim(decided_keys(decision.identities))
        if clash is not None:
            return self.duplicate_identity(line, user.legacy_id, clash)
        return decision

    def admit(self, record: SourceRecord, *, random_password: Callable[[], str]) -> TargetUser | RejectedRecord:
        """`verdict`, and for an admitted record the TargetUser it maps to."""
        decision = self.verdict(record)
        if isinstance(decision, RejectedRecord):
            return decision
        return target_user(record.user, decision, self.options, random_password=random_password)
