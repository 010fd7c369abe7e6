"""What `watch` and `report cutover` show, read from the monitor store alone: the long tail over time, % of
active users migrated, JIT decisions and latency against Entra's 2 s budget, sign-in outcomes, alerts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from shared.messages import AlertRaised
from shared.monitoring.metrics import (
    ACTIVE_USERS,
    FLAGGED_REMAINING,
    FLAGS_CLEARED,
    JIT_LATENCY,
    JIT_REQUESTS,
    MIGRATED_ACTIVE_USERS,
    SIGNIN_OUTCOMES,
)
from shared.monitoring.sqlite_store import SqliteMonitorStore

BUDGET_MS = 2000.0
_EVER = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


@dataclass
class Dashboard:
    flagged_remaining: list[tuple[datetime, float]] = field(default_factory=list)
    pct_active_migrated: list[tuple[datetime, float]] = field(default_factory=list)
    flags_cleared: list[tuple[datetime, float]] = field(default_factory=list)  # cumulative
    jit_actions: Counter[str] = field(default_factory=Counter)
    latency_mean_ms: float | None = None
    latency_p95_ms: float | None = None
    latency_over_budget: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    alerts: list[AlertRaised] = field(default_factory=list)

    @property
    def pct_migrated_now(self) -> float | None:
        return self.pct_active_migrated[-1][1] if self.pct_active_migrated else None


async def read_dashboard(store: SqliteMonitorStore) -> Dashboard:
    board = Dashboard()
    board.flagged_remaining = [(p.at, p.value) for p in await store.points(FLAGGED_REMAINING, *_EVER)]
    active = await store.points(ACTIVE_USERS, *_EVER)
    migrated = await store.points(MIGRATED_ACTIVE_USERS, *_EVER)
    board.pct_active_migrated = [(a.at, 100.0 * m.value / a.value) for a, m in zip(active, migrated, strict=False)
                                 if a.value > 0]  # fmt: skip
    total = 0.0
    for point in await store.points(FLAGS_CLEARED, *_EVER):
        total += point.value
        board.flags_cleared.append((point.at, total))
    for point in await store.points(JIT_REQUESTS, *_EVER):
        board.jit_actions[point.dimensions.get("action", "?")] += int(point.value)
    latencies = sorted(p.value for p in await store.points(JIT_LATENCY, *_EVER))
    if latencies:
        board.latency_mean_ms = sum(latencies) / len(latencies)
        board.latency_p95_ms = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
        board.latency_over_budget = sum(1 for v in latencies if v > BUDGET_MS)
    for point in await store.points(SIGNIN_OUTCOMES, *_EVER):
        board.outcomes[f"{point.dimensions.get('code', '?')} {point.dimensions.get('outcome', '?')}"] += int(
            point.value
        )
    board.alerts = store.alerts()
    return board
