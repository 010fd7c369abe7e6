"""What happened to each legacy user: the ledger's vocabulary.

Every input record ends in exactly one of created, already_present, rejected or failed. `pending` is
the intent written before a create is sent (checkpoint before emit) and stays while the user is open
(throttled, transient, lag). `create_sent` stays true on every later row of that user: a create we
ever sent makes a later ObjectConflict ours (→ created), whatever the attempt or run that meets it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from shared.mapping import MappingOptions
from shared.records import RejectedRecord


class Outcome(StrEnum):
    PENDING = "pending"
    DEFERRED = "deferred"  # written by versions before 0.2 for a throttled user; its create had been sent
    CREATED = "created"
    ALREADY_PRESENT = "already_present"
    REJECTED = "rejected"
    FAILED = "failed"


FINAL_OUTCOMES = frozenset({Outcome.CREATED, Outcome.ALREADY_PRESENT, Outcome.REJECTED, Outcome.FAILED})
SENT_OUTCOMES = frozenset({Outcome.PENDING, Outcome.DEFERRED})  # rows only written once a create was on its way


class MethodState(StrEnum):
    """One MFA method of a user (shared/auth_methods.py keys): pending until Graph holds it or says no."""

    PENDING = "pending"  # planned, or sent without a final answer: the next attempt reads back first
    IMPORTED = "imported"  # we registered it (or found it there after our own send)
    ALREADY_PRESENT = "already_present"  # the tenant held this very value before we ever sent it
    SKIPPED = "skipped"  # not importable (code says why: TOTP, a third phone, …) or the slot holds another value
    FAILED = "failed"  # Graph refused it, or stayed unavailable past the last attempt (code says which)


FINAL_METHOD_STATES = frozenset({MethodState.IMPORTED, MethodState.ALREADY_PRESENT, MethodState.SKIPPED,
                                 MethodState.FAILED})  # fmt: skip


class MethodOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    state: MethodState
    code: str | None = None
    sent: bool = False  # a POST for it left the process: a later read-back that finds it makes it ours


class LedgerEntry(BaseModel):
    """The ledger row for one legacy user, keyed by (source, legacy_id)."""

    model_config = ConfigDict(frozen=True)

    source: str
    legacy_id: str
    run_id: str
    outcome: Outcome
    object_id: str | None = None
    code: str | None = None
    message: str | None = None
    line: int | None = None
    chunk_id: str | None = None
    updated_at: datetime
    create_sent: bool = False  # a create for this user left the process at least once (ours until proven otherwise)
    methods: dict[str, MethodOutcome] = {}  # MFA method key (phone:mobile, email, totp#1 …) → its state


class Creation(BaseModel):
    """A user a run created (not one it found already present): what `rollback` may delete."""

    model_config = ConfigDict(frozen=True)

    source: str
    legacy_id: str
    run_id: str
    object_id: str


class RunState(BaseModel):
    """A run as the tracker sees it. Complete exactly when every planned chunk has reported."""

    run_id: str
    source: str
    export_ref: str
    started_at: datetime
    planned_at: datetime | None = None
    finished_at: datetime | None = None
    mapping: MappingOptions | None = None  # as planned (types inferred included): every chunk maps the same way
    error: str | None = None  # set when the export could not be read at all
    abandoned_at: datetime | None = None  # `run --abandon`: its open chunks were cancelled, it never finishes
    wave: int | None = None  # `run --wave N`: only that wave's users were planned
    other_wave: int = 0  # records of the export that belong to another wave (not written, not rejected)
    rolled_back_at: datetime | None = None  # `rollback` deleted the users this run created
    total: int | None = None
    rejected: int | None = None
    reject_reasons: dict[str, int] = {}
    reset_fallbacks: dict[str, int] = {}  # planned users sent to reset though they brought a password, by reason
    chunks: int | None = None
    chunks_reported: int = 0
    created: int = 0
    already_present: int = 0
    failed: int = 0

    @property
    def complete(self) -> bool:
        return self.chunks is not None and self.chunks_reported >= self.chunks


__all__ = [
    "FINAL_METHOD_STATES", "Creation", "LedgerEntry", "MethodOutcome", "MethodState", "Outcome", "RejectedRecord",
    "RunState",
]  # fmt: skip
