"""Shared write quota: one bucket per app lane (and one per tenant) that every process draws from.

Graph counts writes per app id and per tenant, however many Functions instances send them. A process-local
ThrottleBudget paces each instance as if it were alone, so N instances would spend N quotas. A
`SharedBudget` instead draws *leases* of a few tokens from a bucket kept in a `QuotaStore` (Table Storage
in Azure, the state's SQLite database locally), so it is one round-trip per lease, not per request.

A bucket is the server's own rule, kept on the grants: a **log of the grants of the last `window + lease_s`
seconds** (`BucketRow.grants`), and a draw is granted only while that log holds at most `headroom × limit`.
A lease is valid for `lease_s` seconds: tokens not spent by then are dropped, never sent late. So every write
sent in a server window of `window` seconds was granted within `window + lease_s` of it, and no window holds
more than the quota, whichever process sent the writes. Quota nobody drew in time is not lost (as it is from a
token bucket that fills while its drawers are late): it stays in the log's room until someone draws it.
A pacing bucket (`pace` × the planned average rate, `capacity` tokens) only spreads the grants over the window
instead of granting a whole window at once; it runs faster than the log, so a late drawer costs nothing.
A lease is granted in whole batches (`step`), so no remainder is left to expire. A 429's Retry-After blocks
the shared bucket, so every instance pauses, not only the one that was told.
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

PACE = 1.25  # the pacing bucket's rate ÷ the planned average: a drawer may be a fifth late without loss
MERGE_SLOTS = 256  # grants closer than span / MERGE_SLOTS share one log entry (stamped with the later time)


@dataclass(frozen=True)
class BucketTerms:
    capacity: float  # tokens the pacing bucket holds at most
    rate: float  # the average rate grants are planned at, tokens per second (plan's estimate reads it)
    lease_s: float  # a lease's tokens are spent within this, or dropped
    allowed: float = math.inf  # grants the log holds at most (headroom × limit)
    span_s: float = 0.0  # how long a grant stays in the log: window + lease_s
    pace: float = 1.0  # the pacing bucket refills at pace × rate

    @property
    def pace_rate(self) -> float:
        return self.rate * self.pace


def bucket_terms(
    limit: int, window_s: float, *, headroom: float, burst: int, lease_s: float, pace: float = PACE
) -> BucketTerms:
    allowed = limit * headroom
    capacity = float(max(1, min(burst, int(allowed // 2))))
    span = window_s + lease_s
    # `capacity + rate × span ≤ allowed` (a token bucket's bound) keeps `rate` a safe plan on its own; the log,
    # not the pacing bucket, is what holds the quota, so the bucket may run faster than that.
    return BucketTerms(capacity, max(allowed - capacity, 1.0) / span, lease_s, allowed, span, pace)


@dataclass(frozen=True)
class BucketRow:
    tokens: float  # the pacing bucket
    updated: float  # wall-clock seconds (shared by processes and instances)
    blocked_until: float = 0.0
    grants: tuple[tuple[float, int], ...] = ()  # (granted at, tokens) of the last span_s seconds, oldest first

    @property
    def granted(self) -> int:
        return sum(n for _, n in self.grants)


def refilled(row: BucketRow | None, terms: BucketTerms, now: float) -> BucketRow:
    if row is None:
        return BucketRow(terms.capacity, now)
    # Another instance's clock may be a little ahead: never refill backwards.
    tokens = min(terms.capacity, row.tokens + max(0.0, now - row.updated) * terms.pace_rate)
    horizon = now - terms.span_s
    grants = tuple(g for g in row.grants if g[0] > horizon)
    return BucketRow(tokens, max(now, row.updated), row.blocked_until, grants)


def _log_wait(row: BucketRow, terms: BucketTerms, need: int, now: float) -> float:
    """Seconds until the log has room for `need` more (0: it has)."""
    excess = row.granted + need - terms.allowed
    for stamp, n in row.grants:
        if excess <= 0:
            break
        excess -= n
        if excess <= 0:
            return stamp + terms.span_s - now
    return 0.0 if excess <= 0 else terms.span_s


def draw(
    row: BucketRow | None, terms: BucketTerms, need: int, want: int, now: float, step: int = 1
) -> tuple[BucketRow, int, float]:
    """(new row, tokens granted, seconds to wait when none were): grants `need` + k × `step` ≤ `want`, or nothing."""
    row = refilled(row, terms, now)
    if now < row.blocked_until:
        return row, 0, row.blocked_until - now
    need = max(1, min(need, int(terms.capacity)))
    want = max(want, need)
    room = terms.allowed - row.granted
    if row.tokens < need or room < need:
        # Come back when more than `need` has accrued (fewer round-trips at the same rate), but before the
        # pacing bucket is full; and not before the log has room.
        target = max(need, min(want, terms.capacity / 2))
        wait = max((target - row.tokens) / terms.pace_rate, _log_wait(row, terms, need, now))
        return row, 0, max(wait, 1e-3)
    step = max(1, step)
    granted = need + step * ((math.floor(min(want, row.tokens, room)) - need) // step)
    grants = row.grants
    if grants and grants[-1][0] > now - terms.span_s / MERGE_SLOTS:
        grants = (*grants[:-1], (max(now, grants[-1][0]), grants[-1][1] + granted))  # conservative: the later stamp
    else:
        grants = (*grants, (now, granted))
    return BucketRow(row.tokens - granted, row.updated, row.blocked_until, grants), granted, 0.0


def blocked(row: BucketRow | None, terms: BucketTerms, seconds: float, now: float) -> BucketRow:
    row = refilled(row, terms, now)
    return BucketRow(min(row.tokens, 0.0), row.updated, max(row.blocked_until, now + seconds), row.grants)


def encode_grants(grants: tuple[tuple[float, int], ...]) -> str:
    """The log as stored (a Table string property, a SQLite TEXT column): `stamp:n` pairs, space-separated."""
    # Stamps rounded up, never down: a grant may leave the log a millisecond late, never early.
    return " ".join(f"{math.ceil(stamp * 1000) / 1000:.3f}:{n}" for stamp, n in grants)


def decode_grants(text: str | None) -> tuple[tuple[float, int], ...]:
    if not text:
        return ()
    pairs = (part.split(":") for part in text.split())
    return tuple((float(stamp), int(n)) for stamp, n in pairs)


class QuotaStore(Protocol):
    """Where the shared buckets live. Both operations are atomic across processes."""

    async def draw(self, key: str, terms: BucketTerms, need: int, want: int, step: int = 1) -> tuple[int, float, float]:
        """(granted, wait_s, stamp): `need` + k × `step` tokens, at most `want`, logged at `stamp` (wall clock);
        or 0 and how long until `need` could be."""
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
        # The pacing bucket holds at least one whole lease.
        self.terms = bucket_terms(limit, window_s, headroom=headroom, burst=max(burst, lease_tokens), lease_s=lease_s)
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
            # A lease sized to the batches queued here now (capped), in whole batches: tokens drawn for nobody,
            # or a remainder smaller than a batch, would expire unused.
            batches = max(1, min(self._waiting, self.lease_tokens // n))
            granted, wait, stamp = await self.store.draw(self.key, self.terms, n - held, n * batches - held, n)
            if granted:
                self.leases_drawn += 1
                self.tokens_drawn += granted
                self._leases.append([float(granted), stamp + self.terms.lease_s])  # as long as the log holds it
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
