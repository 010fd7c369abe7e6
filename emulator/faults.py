"""Seeded, reproducible fault decisions.

Every Graph request (and every `$batch` item) draws the same number of random values whatever
faults are enabled, so one seed gives the same fault sequence for the same request order, and
switching one fault on does not reshuffle the others.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import Enum

from emulator.config import FaultSpec


class StatusFault(Enum):
    NONE = 0
    E500 = 500
    E503 = 503
    E504 = 504
    E504_AFTER_COMMIT = 5041


@dataclass(frozen=True)
class FaultDraw:
    status: StatusFault
    lag: bool
    drop: bool


class FaultInjector:
    def __init__(self, spec: FaultSpec, seed: int) -> None:
        self.spec = spec
        self.seed = seed
        self._rng = random.Random(seed)
        self.injected: dict[str, int] = {}

    def configure(self, spec: FaultSpec, seed: int | None = None) -> None:
        self.spec = spec
        if seed is not None:
            self.seed = seed
            self._rng = random.Random(seed)

    def _count(self, name: str) -> None:
        self.injected[name] = self.injected.get(name, 0) + 1

    def draw(self) -> FaultDraw:
        rng = self._rng.random
        status_roll, lag_roll, drop_roll = rng(), rng(), rng()
        spec = self.spec
        status = StatusFault.NONE
        # One roll split into bands keeps the status faults mutually exclusive.
        edge = spec.error_500
        if status_roll < edge:
            status = StatusFault.E500
        elif status_roll < (edge := edge + spec.error_503):
            status = StatusFault.E503
        elif status_roll < (edge := edge + spec.error_504):
            status = StatusFault.E504
        elif status_roll < edge + spec.error_504_after_commit:
            status = StatusFault.E504_AFTER_COMMIT
        return FaultDraw(status=status, lag=lag_roll < spec.lag, drop=drop_roll < spec.drop)

    def note(self, name: str) -> None:
        self._count(name)
