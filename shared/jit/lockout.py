"""Lockout counters of the JIT endpoint: wrong passwords per account in a sliding window, and the lock.

`Lockouts` is the port PasswordDecider counts through. `SqliteLockouts` keeps them in the endpoint's own
jit.db (one process, or processes sharing the file: `BEGIN IMMEDIATE`). `TableLockouts` keeps them in
one Table (JIT__LOCKOUT_TABLE) that every Functions instance shares, one row per account
(PartitionKey `lockout`, RowKey = escaped object id: `count`, `window_start`, `locked_until`). A failure
is read-modify-write conditioned on the row's ETag (create when absent), retried on 409/412, so two
instances counting at once lose no failure and the threshold holds for the account whatever instance
answers (R27), not once per instance. No password, username or hash is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from azure.core.exceptions import ResourceNotFoundError

from shared.adapters.tables import OneTable, escape_key, if_unchanged, retry_on_etag
from shared.jit.state import JitStateStore

PARTITION = "lockout"
RETRIES = 40


class LockoutContention(RuntimeError):
    """An account's counter stayed contended through every retry (the endpoint answers with an error)."""


class Lockouts(Protocol):
    async def locked(self, object_id: str, now: float) -> bool: ...
    async def record_failure(
        self, object_id: str, now: float, *, threshold: int, window_s: float, lock_s: float
    ) -> int:
        """Count one failure in the sliding window; lock the account once `threshold` is reached; the count."""

    async def clear_failures(self, object_id: str) -> None: ...


class SqliteLockouts:
    """The local endpoint's counters, in its JitStateStore (jit.db)."""

    def __init__(self, state: JitStateStore) -> None:
        self._state = state

    async def locked(self, object_id: str, now: float) -> bool:
        return self._state.locked(object_id, now)

    async def record_failure(
        self, object_id: str, now: float, *, threshold: int, window_s: float, lock_s: float
    ) -> int:
        return self._state.record_failure(object_id, now, threshold=threshold, window_s=window_s, lock_s=lock_s)

    async def clear_failures(self, object_id: str) -> None:
        self._state.clear_failures(object_id)


class TableLockouts(OneTable):
    """`Lockouts` on a Table shared by every instance. Build with `from_connection_string` or `from_account_url`."""

    async def _row(self, object_id: str) -> Mapping[str, Any] | None:
        try:
            return await self._table.get_entity(PARTITION, escape_key(object_id))
        except ResourceNotFoundError:
            return None

    async def locked(self, object_id: str, now: float) -> bool:
        row = await self._row(object_id)
        return bool(row and float(row.get("locked_until", 0.0)) > now)

    async def record_failure(
        self, object_id: str, now: float, *, threshold: int, window_s: float, lock_s: float
    ) -> int:
        async def attempt() -> int:
            row = await self._row(object_id)
            fresh = row is None or now - float(row["window_start"]) > window_s
            count, start = (1, now) if fresh or row is None else (int(row["count"]) + 1, float(row["window_start"]))
            locked_until = now + lock_s if count >= threshold else 0.0
            if row is not None and float(row.get("locked_until", 0.0)) > locked_until:
                locked_until = float(row["locked_until"])  # a lock another instance set is never shortened
            entity = {"PartitionKey": PARTITION, "RowKey": escape_key(object_id), "count": count,
                      "window_start": start, "locked_until": locked_until}  # fmt: skip
            if row is None:
                await self._table.create_entity(entity)  # 409 if another instance created it first: re-read
            else:
                await self._table.update_entity(entity, **if_unchanged(row))  # 412 if it moved: re-read
            return count

        return await retry_on_etag(
            attempt, retries=RETRIES, contended=lambda: LockoutContention("lockout counter contended")
        )

    async def clear_failures(self, object_id: str) -> None:
        await self._table.delete_entity(PARTITION, escape_key(object_id))
