"""VerifyCost: every verification (real or dummy) takes as long as the slowest algorithm the vault uses.

An unknown user is verified against a decoy row; a known user against their own hash. In a vault that
mixes algorithms (pbkdf2 ~15 ms, bcrypt ~70 ms, firebase-scrypt ~55 ms) the two still differ unless each
verification is padded to one floor: the recent cost of the slowest algorithm seen (EWMA per
algorithm, with a margin so most real verifications finish under it), capped so a stall can't push
answers past Entra's timeout. The padding is a sleep: it costs latency, not CPU. R20: median gap < 5 ms.
"""

from __future__ import annotations

import asyncio

ALPHA = 0.1  # weight of the newest sample in each algorithm's moving average
MARGIN = 1.2  # floor = slowest average × margin: a verification a little slower than average is still padded
MAX_FLOOR_S = 0.5  # well inside Entra's 1 s default timeout, whatever a stalled machine measured


class VerifyCost:
    def __init__(self) -> None:
        self._average: dict[str, float] = {}

    def observe(self, algorithm: str, seconds: float) -> None:
        previous = self._average.get(algorithm)
        self._average[algorithm] = seconds if previous is None else previous + ALPHA * (seconds - previous)

    @property
    def floor_s(self) -> float:
        return min(MAX_FLOOR_S, max(self._average.values(), default=0.0) * MARGIN)

    async def pad(self, algorithm: str, elapsed_s: float) -> None:
        """Record a verification's cost, then wait until it has taken the floor."""
        self.observe(algorithm, elapsed_s)
        remaining = self.floor_s - elapsed_s
        if remaining > 0:
            await asyncio.sleep(remaining)
