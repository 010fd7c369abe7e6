"""Seeded, reproducible fault decisions.

Every Graph request (and every `$batch` item) draws the same number of random values whatever
faults are enabled, so one seed gives the same fault sequence for the same request order, and
switching one fault on does not reshuffle the others. Whole-`$batch` faults draw one value per
`$batch` request from a second stream (seeded from the same seed), so enabling them leaves the
per-request sequence as it was.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import Enum

from emulator.config import FaultSpec

# An injected 503 always says when to come back (docs/emulator.md, "Documented choices"): 1 s, divided
# by --time-scale like every other window.
UNAVAILABLE_RETRY_AFTER_S = 1.0


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


_BANDS = (StatusFault.E500, StatusFault.E503, StatusFault.E504, StatusFault.E504_AFTER_COMMIT)


def _status_band(roll: float, rates: tuple[float, float, float, float]) -> StatusFault:
    """One roll split into bands keeps the status faults mutually exclusive (500, 503, 504, 504-after-commit)."""
    edge = 0.0
    for rate, fault in zip(rates, _BANDS, strict=True):
        edge += rate
        if roll < edge:
            return fault
    return StatusFault.NONE


class FaultInjector:
    def __init__(self, spec: FaultSpec, seed: int) -> None:
        self.spec = spec
        self.seed = seed
        self._rng = random.Random(seed)
        self._batch_rng = random.Random(f"batch:{seed}")
        self.injected: dict[str, int] = {}

    def configure(self, spec: FaultSpec, seed: int | None = None) -> None:
        self.spec = spec
        if seed is not None:
            self.seed = seed
            self._rng = random.Random(seed)
            self._batch_rng = random.Random(f"batch:{seed}")

    def _count(self, name: str) -> None:
        self.injected[name] = self.injected.get(name, 0) + 1

    def draw(self) -> FaultDraw:
        rng = self._rng.random
        status_roll, lag_roll, drop_roll = rng(), rng(), rng()
        spec = self.spec
        rates = (spec.error_500, spec.error_503, spec.error_504, spec.error_504_after_commit)
        status = _status_band(status_roll, rates)
        return FaultDraw(status=status, lag=lag_roll < spec.lag, drop=drop_roll < spec.drop)

    def draw_batch(self) -> StatusFault:
        """The fault of one whole `$batch` request (its items draw their own with `draw()`)."""
        spec = self.spec
        rates = (spec.batch_500, spec.batch_503, spec.batch_504, spec.batch_504_after_commit)
        return _status_band(self._batch_rng.random(), rates)

    def note(self, name: str) -> None:
        self._count(name)
