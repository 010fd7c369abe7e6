"""The sync store port: fingerprints per user, conflicts, feed cursors, the poll lease, the drop's sealed records.

Kept beside the ledger (its own SQLite file locally, its own Table in Azure), never inside it. Contract:
* `put_fingerprint` upserts by (source, legacy_id), `put_fingerprints` many at once (the bulk import's baselines,
  one call per chunk); `fingerprints(source)` streams them (snapshot diff);
  `forget_fingerprints` drops them (rollback), absent ones ignored;
* `record_conflict` is idempotent by (source, legacy_id, field, both values): a re-applied change records once;
* `begin_poll` takes a lease that only one poller holds at a time (R13); it expires, so a dead poller's lease
  does not block the next run for longer than the lease;
* `put_drop_records` keeps, per user, only the record with the highest seq (lines may arrive out of order).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from shared.sync.model import Conflict, CursorState, Fingerprint


@dataclass(frozen=True)
class DropRecord:
    """A drop line as stored: `sealed` holds the record (it may carry a password hash), sealed."""

    source: str
    legacy_id: str
    seq: int
    op: str
    sealed: bytes


class SyncStore(Protocol):
    async def get_fingerprints(self, source: str, legacy_ids: Sequence[str]) -> dict[str, Fingerprint]: ...
    async def put_fingerprint(self, fingerprint: Fingerprint) -> None: ...
    async def put_fingerprints(self, fingerprints: Sequence[Fingerprint]) -> None:
        """Upsert many (the baselines of a chunk the import just created): all or, on an error, possibly some."""

    def fingerprints(self, source: str) -> AsyncIterator[Fingerprint]: ...
    async def forget_fingerprints(self, source: str, legacy_ids: Sequence[str]) -> None:
        """Drop these users' fingerprints (rollback deleted them: a re-import starts with no memory)."""

    async def record_conflict(self, conflict: Conflict) -> bool:
        """True when new (not a repeat of one already recorded)."""

    async def conflicts(self, source: str | None = None) -> list[Conflict]: ...

    async def get_cursor(self, source: str) -> CursorState | None: ...
    async def put_cursor(self, state: CursorState) -> None: ...
    async def begin_poll(self, source: str, holder: str, now: datetime, lease_until: datetime) -> bool: ...
    async def end_poll(self, source: str, holder: str) -> None: ...

    async def bump(self, source: str, counts: dict[str, int]) -> None: ...
    async def counters(self, source: str) -> dict[str, int]: ...

    async def put_drop_records(self, records: Sequence[DropRecord]) -> None: ...
    async def get_drop_record(self, source: str, legacy_id: str) -> DropRecord | None: ...
