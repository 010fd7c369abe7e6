"""What the sync keeps per user, per source and per conflict (the sync store's vocabulary).

`Fingerprint` holds digests only (see fingerprint.py). `Conflict` holds both sides' *profile* values, for a
human to decide; never a password or hash (password changes never conflict: legacy always carries them).
`CursorState` is one feed's position and health.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Fingerprint(BaseModel):
    model_config = ConfigDict(frozen=True)

    source: str
    legacy_id: str
    object_id: str | None = None
    fields: dict[str, str] = Field(default_factory=dict)  # Graph property → digest of what we last wrote
    password: str | None = None  # digest of the legacy password material we last carried
    flagged: bool | None = None  # the JIT flag value we last wrote
    deleted: bool = False  # we deleted the user in Entra (soft: restorable for 30 days)
    seq: int | None = None  # highest legacy seq applied
    password_seq: int | None = None  # highest seq of a password change handled
    updated_at: datetime


Resolution = Literal["legacy", "entra"]


class Conflict(BaseModel):
    """Both directories changed one field since our last write. Values are profile values, never secrets."""

    model_config = ConfigDict(frozen=True)

    source: str
    legacy_id: str
    object_id: str
    field: str
    legacy_value: Any
    entra_value: Any
    resolution: Resolution  # whose value the tenant holds now
    rule: str
    at: datetime


class CursorState(BaseModel):
    """One feed's position. `position_at`: the newest change the cursor covers (lag = now - position_at)."""

    model_config = ConfigDict(frozen=True)

    source: str
    cursor: str | None = None
    last_poll_at: datetime | None = None
    last_success_at: datetime | None = None  # the last poll that reached the feed's end
    cursor_moved_at: datetime | None = None
    position_at: datetime | None = None
    oldest_available: datetime | None = None
    retention_s: float | None = None
    needs_snapshot: bool = False  # the cursor outlived the feed's retention: a snapshot diff must run first
    last_snapshot_at: datetime | None = None
    emitted: int = 0
    last_error: str | None = None


SyncCounter = Literal[
    "created",
    "updated",
    "deleted",
    "disabled",
    "enabled",
    "restored",
    "password_vaulted",
    "password_rearmed",
    "password_reset",
    "unchanged",
    "conflicts",
    "stale_skipped",
    "out_of_order_applies",
    "rejected",
]
