"""Sliding-window quotas per app registration and per tenant (graph docs concepts/throttling-limits.md).

`Throttle.admit(app_id, kind, ru)` either records the request against every window it counts in
and returns None, or returns the seconds until *all* its windows would admit it (the Retry-After).

How requests count (graph docs concepts/throttling.md: "all requests accrue against your usage
limits", "Microsoft Graph continues to log resource usage while a client is being throttled"):
* a request refused later for validation (400, 404, conflict …) was admitted here first, so it
  counts in full — resource units and, for POST/PATCH/PUT/DELETE, the write quotas;
* a throttled request (429) still costs its resource units (or its reporting request), but not a
  write, since nothing was written. Its Retry-After is computed after that cost is recorded, so a
  client that waits exactly Retry-After is admitted (unless others got there first), and one that
  retries early only pushes its own admission further out.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


class SlidingWindow:
    """Sum of costs within the last `length` seconds, limited to `limit`."""

    __slots__ = ("_events", "_used", "length", "limit")

    def __init__(self, limit: int, length: float) -> None:
        self.limit = limit
        self.length = length
        self._events: deque[tuple[float, int]] = deque()
        self._used = 0

    def _expire(self, now: float) -> None:
        horizon = now - self.length
        events = self._events
        while events and events[0][0] <= horizon:
            self._used -= events.popleft()[1]

    def wait_for(self, cost: int, now: float) -> float:
        """0 if `cost` fits now, else seconds until enough old events leave the window."""
        self._expire(now)
        excess = self._used + cost - self.limit
        if excess <= 0:
            return 0.0
        if cost > self.limit:
            return self.length  # never fits; answer a full window rather than loop forever
        freed = 0
        for stamp, event_cost in self._events:
            freed += event_cost
            if freed >= excess:
                return max(stamp + self.length - now, 0.001)
        return self.length

    def record(self, cost: int, now: float) -> None:
        self._events.append((now, cost))
        self._used += cost

    def used(self, now: float) -> int:
        self._expire(now)
        return self._used


@dataclass
class AppCounters:
    requests: int = 0
    writes: int = 0
    resource_units: int = 0
    throttled: int = 0
    throttled_by: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Rejection:
    retry_after: float
    scope: str  # x-ms-throttle-scope prefix, e.g. Tenant_Application/Write
    reason: str  # x-ms-throttle-information


class Throttle:
    """All windows of one tenant. Window lengths arrive already divided by the time scale."""

    def __init__(
        self,
        *,
        app_writes: int,
        app_write_window: float,
        tenant_writes: int,
        tenant_write_window: float,
        resource_units: Callable[[], int],
        resource_unit_window: float,
        reporting_requests: int,
        reporting_window: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._app_writes = (app_writes, app_write_window)
        self._ru = (resource_units, resource_unit_window)
        self._reporting = (reporting_requests, reporting_window)
        self._tenant_writes = SlidingWindow(tenant_writes, tenant_write_window)
        self._app_write_windows: dict[str, SlidingWindow] = {}
        self._ru_windows: dict[str, SlidingWindow] = {}
        self._reporting_windows: dict[str, SlidingWindow] = {}
        self.clock = clock
        self.counters: dict[str, AppCounters] = {}
        self.total_requests = 0

    def _window(self, table: dict[str, SlidingWindow], app_id: str, limit: int, length: float) -> SlidingWindow:
        window = table.get(app_id)
        if window is None:
            window = table[app_id] = SlidingWindow(limit, length)
        return window

    def counters_for(self, app_id: str) -> AppCounters:
        counters = self.counters.get(app_id)
        if counters is None:
            counters = self.counters[app_id] = AppCounters()
        return counters

    def admit(self, app_id: str, *, write: bool, resource_units: int, reporting: bool) -> Rejection | None:
        now = self.clock()
        counters = self.counters_for(app_id)
        counters.requests += 1
        self.total_requests += 1
        # (window, cost, scope, reason, accrues when throttled)
        checks: list[tuple[SlidingWindow, int, str, str, bool]] = []
        if reporting:
            limit, length = self._reporting
            window = self._window(self._reporting_windows, app_id, limit, length)
            checks.append((window, 1, "Tenant_Application/Read", "ReportingLimitExceeded", True))
        else:
            ru_limit, ru_length = self._ru
            window = self._window(self._ru_windows, app_id, ru_limit(), ru_length)
            window.limit = ru_limit()  # the tier follows the tenant's size
            checks.append((window, resource_units, "Tenant_Application/ReadWrite", "ResourceUnitLimitExceeded", True))
            if write:
                limit, length = self._app_writes
                window = self._window(self._app_write_windows, app_id, limit, length)
                checks.append((window, 1, "Tenant_Application/Write", "WriteLimitExceeded", False))
                checks.append((self._tenant_writes, 1, "Tenant/Write", "WriteLimitExceeded", False))
        if any(window.wait_for(cost, now) > 0 for window, cost, _, _, _ in checks):
            for window, cost, _, _, accrues in checks:
                if accrues:  # resource usage is logged while a client is throttled (throttling.md)
                    window.record(cost, now)
            counters.resource_units += resource_units
            worst = max(
                (Rejection(window.wait_for(cost, now), scope, reason) for window, cost, scope, reason, _ in checks),
                key=lambda rejection: rejection.retry_after,
            )
            counters.throttled += 1
            counters.throttled_by[worst.reason] = counters.throttled_by.get(worst.reason, 0) + 1
            return worst
        for window, cost, _, _, _ in checks:
            window.record(cost, now)
        if write:
            counters.writes += 1
        counters.resource_units += resource_units
        return None

    def reset(self) -> None:
        self._tenant_writes = SlidingWindow(self._tenant_writes.limit, self._tenant_writes.length)
        self._app_write_windows.clear()
        self._ru_windows.clear()
        self._reporting_windows.clear()
        self.counters.clear()
        self.total_requests = 0


def format_retry_after(seconds: float, fractional: bool) -> str:
    """Rounded *up*, so a client that waits exactly this long is never early."""
    if not fractional:
        return str(max(1, math.ceil(seconds)))
    millis = max(1, math.ceil(seconds * 1000))
    return f"{millis / 1000:.3f}".rstrip("0").rstrip(".")
