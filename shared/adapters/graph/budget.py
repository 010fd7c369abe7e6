"""ThrottleBudget: pace writes under Graph's quota instead of discovering it through 429s.

A token bucket whose capacity plus refill over one window never exceeds the quota, so any sliding
window the server checks holds at most `headroom × limit` writes. A 429's Retry-After empties the
bucket and blocks it until then: nothing is sent on that budget before Retry-After has passed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Protocol


class WriteBudget(Protocol):
    """What a lane paces its writes with: ThrottleBudget (one process) or SharedBudget (quota_lease.py)."""

    async def acquire(self, n: int) -> None: ...

    def block_for(self, seconds: float) -> None: ...


class ThrottleBudget:
    def __init__(
        self,
        limit: int,
        window_s: float,
        *,
        headroom: float = 0.98,
        burst: int = 40,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        allowed = limit * headroom
        # Room for two $batch requests: a waiter woken late by a busy event loop keeps what accrued meanwhile
        # instead of losing it to a full bucket (with room for only one batch, every late wake-up is lost quota).
        self.capacity = float(max(1, min(burst, int(allowed // 2))))
        self.rate = max(allowed - self.capacity, 1.0) / window_s  # tokens per second
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.capacity
        self._updated = clock()
        self._blocked_until = 0.0
        self._lock = asyncio.Lock()
        self.waited_s = 0.0

    def _refill(self, now: float) -> None:
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def delay_for(self, n: float) -> float:
        """Seconds until `n` tokens could be taken (0 when they can be taken now)."""
        now = self._clock()
        self._refill(now)
        n = min(n, self.capacity)
        wait_block = max(0.0, self._blocked_until - now)
        wait_tokens = max(0.0, (n - self._tokens) / self.rate)
        wait = max(wait_block, wait_tokens)
        return wait if wait > 1e-6 else 0.0  # float dust must not spin the loop

    async def acquire(self, n: int) -> None:
        """Wait until `n` writes may be sent, then take them. Fair: callers queue on the lock."""
        async with self._lock:
            while (delay := self.delay_for(n)) > 0:
                self.waited_s += delay
                await self._sleep(delay)
            self._tokens -= min(n, self.capacity)

    def block_for(self, seconds: float) -> None:
        """The server said Retry-After: send nothing on this budget before then."""
        now = self._clock()
        self._refill(now)
        self._tokens = min(self._tokens, 0.0)
        self._blocked_until = max(self._blocked_until, now + seconds)


class CompositeBudget:
    """Several budgets that must all admit a write (per-app and tenant-wide)."""

    def __init__(self, *budgets: WriteBudget) -> None:
        self.budgets = budgets

    async def acquire(self, n: int) -> None:
        # Acquire in a fixed order; re-check earlier ones cheaply since later waits may be long.
        for budget in self.budgets:
            await budget.acquire(n)
