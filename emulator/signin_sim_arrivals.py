"""Sign-in log records on their way into `auditLogs/signIns`: each becomes visible only after its arrival delay.

Entra writes a sign-in to the reporting store minutes after it happened (typically 2–5, sometimes up to 30), with
its true `createdDateTime`: a reader that pages by time must overlap its windows to see the late ones (R14).
`release_due` moves every due record into the tenant state; the list handler calls it before each read.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable
from typing import Any

from emulator.state import TenantState


class ArrivalQueue:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._heap: list[tuple[float, int, dict[str, Any]]] = []
        self._seq = itertools.count()

    def __len__(self) -> int:
        return len(self._heap)

    def add(self, record: dict[str, Any], delay_s: float) -> None:
        heapq.heappush(self._heap, (self._clock() + max(delay_s, 0.0), next(self._seq), record))

    def release_due(self, state: TenantState, *, everything: bool = False) -> int:
        now = self._clock()
        released = 0
        while self._heap and (everything or self._heap[0][0] <= now):
            _, _, record = heapq.heappop(self._heap)
            released += state.add_sign_in(record)
        return released

    def clear(self) -> None:
        self._heap.clear()
