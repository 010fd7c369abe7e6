"""Shared write quota: one token bucket per app lane (and one per tenant) that every process draws from.

Graph counts writes per app id and per tenant, however many Functions instances send them. A process-local
ThrottleBudget paces each instance as if it were alone, so N instances would spend N quotas. A
`SharedBudget` instead draws *leases* of a few tokens from a bucket kept in a `QuotaStore` (Table Storage
in Azure, the state's SQLite database locally), so it is one round-trip per lease, not per request.

A lease is valid for `lease_s` seconds: tokens not spent by then are dropped, never sent late. So a crashed
holder's unused lease simply expires, and the bucket's terms make any sliding window of the quota hold:
writes sent in a window come from grants made in that window or at most `lease_s` earlier, hence
`capacity + rate × (window + lease_s) ≤ headroom × limit`. A 429's Retry-After blocks the shared bucket,
so every instance pauses, not only the one that was told.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class BucketTerms:
    capacity: float  # tokens the bucket holds at most
    rate: float  # tokens per second it refills
    lease_s: float  # a lease's tokens are spent within this, or dropped


def bucket_terms(limit: int, window_s: float, *, headroom: float, burst: int, lease_s: float) -> BucketTerms:
    allowed = limit * headroom
    capacity = float(max(1, min(burst, int(allowed // 2))))
    return BucketTerms(capacity, max(allowed - capacity, 1.0) / (window_s + lease_s), lease_s)


@dataclass(frozen=True)
class BucketRow:
    tokens: float
    updated: float  # wall-clock seconds (shared by processes and instances)
    blocked_until: float = 0.0


def refilled(row: BucketRow | None, terms: BucketTerms, now: float) -> BucketRow:
    if row is None:
        return BucketRow(terms.capacity, now)
    # Another instance's clock may be a little ahead: never refill backwards.
    tokens = min(terms.capacity, row.tokens + max(0.0, now - row.updated) * terms.rate)
    return BucketRow(tokens, max(now, row.updated), row.blocked_until)


def draw(row: BucketRow | None, terms: BucketTerms, need: int, want: int, now: float) -> tuple[BucketRow, int, float]:
    """(new row, tokens granted, seconds to wait when none were): grants `need`..`want` tokens or nothing."""
    row = refilled(row, terms, now)
    if now < row.blocked_until:
        return row, 0, row.blocked_until - now
    need = max(1, min(need, int(terms.capacity)))
    if row.tokens < need:
        # Come back when more than `need` has accrued (fewer round-trips at the same rate), but well before the
        # bucket is full: a waiter woken late by a busy host keeps what accrued meanwhile instead of spilling it.
        target = max(need, min(want, terms.capacity / 2))
        return row, 0, max((target - row.tokens) / terms.rate, 1e-3)
    granted = max(need, min(want, math.floor(row.tokens)))
    return BucketRow(row.tokens - granted, row.updated, row.blocked_until), granted, 0.0


def blocked(row: BucketRow | None, terms: BucketTerms, seconds: float, now: float) -> BucketRow:
    row = refilled(row, terms, now)
    return BucketRow(min(row.tokens, 0.0), row.updated, max(row.blocked_until, now + seconds))


class QuotaStore(Protocol):
    """Where the shared buckets live. Both operations are atomic across processes."""

    async def draw(self, key: str, terms: BucketTerms, need: int, want: int) -> tuple[int, float]:
        """(granted, wait_s): between `need` and `want` tokens, or 0 and how long until `need` could be."""
        ...

    async def block(self, key: str, terms: BucketTerms, seconds: float) -> None:
        """Retry-After: nothing is granted on `key` for `seconds`."""
        ...


class SharedBudget:
    """The ThrottleBudget interface (acquire, block_for) over a shared bucket, drawn in leases."""

    def __init__(
        self,
        store: QuotaStore,
        key: str,
        limit: int,
        window_s: float,
        *,
        headroom: float = 0.98,
        burst: int = 40,
        lease_tokens: int = 40,
        lease_s: float = 2.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.store = store
        self.key = key
        self.terms = bucket_terms(limit, window_s, headroom=headroom, burst=burst, lease_s=lease_s)
        self.lease_tokens = max(1, min(lease_tokens, int(self.terms.capacity)))
        self._clock = clock
        self._sleep = sleep
        self._leases: deque[list[float]] = deque()  # [tokens left, expires at], oldest first
        self._blocked_until = 0.0
        self._lock = asyncio.Lock()
        self._pending: set[asyncio.Task[None]] = set()
        self._waiting = 0
        self.waited_s = 0.0
        self.leases_drawn = 0
        self.tokens_drawn = 0
        self.tokens_expired = 0.0  # drawn from the shared bucket but not spent within lease_s: quota lost

    def held(self) -> int:
        now = self._clock()
        while self._leases and self._leases[0][1] <= now:
            self.tokens_expired += self._leases.popleft()[0]  # expired: its tokens are never sent
        return int(sum(lease[0] for lease in self._leases))

    async def acquire(self, n: int) -> None:
        """Wait until `n` writes may be sent under the shared quota, then take them."""
        n = max(1, min(n, int(self.terms.capacity)))
        self._waiting += 1
        try:
            async with self._lock:
                await self._take(n)
        finally:
            self._waiting -= 1

    async def _take(self, n: int) -> None:
        while True:
            now = self._clock()
            if now < self._blocked_until:
                await self._wait(self._blocked_until - now)
                continue
            held = self.held()
            if held >= n:
                self._spend(n)
                return
            # A lease sized to the demand queued here now (capped): tokens drawn for nobody would expire unused.
            want = max(min(self.lease_tokens, n * self._waiting) - held, n - held)
            granted, wait = await self.store.draw(self.key, self.terms, n - held, want)
            if granted:
                self.leases_drawn += 1
                self.tokens_drawn += granted
                self._leases.append([float(granted), self._clock() + self.terms.lease_s])
                continue
            # Several processes wait on one bucket: spread their retries a little.
            await self._wait(wait * random.uniform(1.0, 1.05))

    def _spend(self, n: int) -> None:
        left = float(n)
        while left > 0:
            lease = self._leases[0]
            take = min(lease[0], left)
            lease[0] -= take
            left -= take
            if lease[0] <= 0:
                self._leases.popleft()

    async def _wait(self, seconds: float) -> None:
        self.waited_s += seconds
        await self._sleep(seconds)

    def block_for(self, seconds: float) -> None:
        """The server said Retry-After: stop here at once, and block the shared bucket for every instance."""
        self._blocked_until = max(self._blocked_until, self._clock() + seconds)
        self._leases.clear()
        task = asyncio.get_running_loop().create_task(self.store.block(self.key, self.terms, seconds))
        self._pending.add(task)
        task.add_done_callback(self._settled)

    def _settled(self, task: asyncio.Task[None]) -> None:
        self._pending.discard(task)
        if not task.cancelled():
            task.exception()  # a failed shared block is not fatal: this process stays blocked locally
