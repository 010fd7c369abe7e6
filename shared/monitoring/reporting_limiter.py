"""ReportingLimiter: at most `max_requests` reporting-API calls in any `window_s` (a sliding log), client side.

Graph allows 5 requests / 10 s per app per tenant on auditLogs (docs/limits.md); we default to 4 so a clock skew or a
retry never reaches the server's limit (R15: requests over limit 0). `acquire` sleeps until a slot is free.
Time and sleep are parameters, so tests pace it exactly without waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable


class ReportingLimiter:
    def __init__(
        self,
        max_requests: int = 4,
        window_s: float = 10.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if max_requests < 1 or window_s <= 0:
            raise ValueError("the reporting limiter needs max_requests >= 1 and window_s > 0")
        self.max_requests = max_requests
        self.window_s = window_s
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._lock = asyncio.Lock()
        self.waited_s = 0.0

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = self._clock()
                while self._sent and now - self._sent[0] >= self.window_s:
                    self._sent.popleft()
                if len(self._sent) < self.max_requests:
                    self._sent.append(now)
                    return
                wait = self.window_s - (now - self._sent[0]) + 1e-3
                self.waited_s += wait
                await self._sleep(wait)

    async def hold(self, seconds: float) -> None:
        """A 429's Retry-After: no request leaves before it has passed."""
        async with self._lock:
            self.waited_s += seconds
            await self._sleep(seconds)
