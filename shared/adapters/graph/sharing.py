"""SyncAwareBudget: an import's write budget that leaves SYNC_WRITE_SHARE of the quota to a sync running beside it.

Every write draws from `pool` (the whole quota; the sync's writes draw from it too, so together they never exceed
it). While `sync_running()` says a sync is live, each write also draws from `cap`, (1 − SYNC_WRITE_SHARE) of the
quota: the import can't take the sync's share, and the sync, capped at its share by its own budget, can't take the
import's. No sync running: the import has the whole quota. `sync_running` is asked at most every `recheck_s`, so a
sync started after the import is noticed within seconds; `on_change(running)` hears each change (the CLI says it).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from shared.adapters.graph.budget import WriteBudget


class SyncAwareBudget:
    def __init__(
        self,
        pool: WriteBudget,
        cap: WriteBudget,
        sync_running: Callable[[], bool],
        *,
        recheck_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[bool], None] | None = None,
    ) -> None:
        self.pool = pool
        self.cap = cap
        self._probe = sync_running
        self._recheck_s = recheck_s
        self._clock = clock
        self._checked_at: float | None = None
        self.on_change = on_change
        self.running = False

    def sync_running(self) -> bool:
        now = self._clock()
        if self._checked_at is None or now - self._checked_at >= self._recheck_s:
            self._checked_at = now
            running = self._probe()
            if running != self.running and self.on_change is not None:
                self.on_change(running)
            self.running = running
        return self.running

    async def acquire(self, n: int) -> None:
        if self.sync_running():
            await self.cap.acquire(n)
        await self.pool.acquire(n)

    def block_for(self, seconds: float) -> None:
        self.pool.block_for(seconds)
        self.cap.block_for(seconds)


def pool_of(budget: WriteBudget) -> WriteBudget:
    """The budget the sync's own writes draw from: the whole pool, never the import's cap."""
    return budget.pool if isinstance(budget, SyncAwareBudget) else budget
