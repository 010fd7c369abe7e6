"""Migration-aware metrics: names, bounded dimensions, and the sink that sends each point to the Telemetry
port (OpenTelemetry → Application Insights `customMetrics` in Azure) and, offline, to the monitor store that
the local alert evaluator reads.

Dimensions are bounded by construction: `outcome` and `code` come from fixed tables (anything else is
"other"), `app` is a registered application id, `wave` comes from the operator's app→wave map, `source` is a
source name. Never a user id, UPN, IP or correlation id.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

from shared.monitoring.store import MetricPoint, MonitorStore
from shared.ports import Telemetry

SIGNIN_OUTCOMES = "signin.outcomes"  # count, dims outcome, code, app, wave, jit (called | none)
CALLOUT_FAILURES = "signin.callout_failures"  # count, dims code (1003001-1003005), app
FLAGS_CLEARED = "migration.flags_cleared"  # count: MigratePassword applied (a success after a callout)
ACTIVE_USERS = "migration.active_users"  # gauge: distinct users who tried to sign in since cutover
MIGRATED_ACTIVE_USERS = "migration.migrated_active_users"  # gauge: of those, users who signed in successfully
FLAGGED_REMAINING = "migration.flagged_remaining"  # gauge: users still flagged (legacy hash waiting): the long tail
JIT_REQUESTS = "jit.requests"  # count from our endpoint, dims action, reason
JIT_LATENCY = "jit.latency_ms"  # measure from our endpoint, dim action
STAGE_RUN = "stage.run"  # count, dim stage: every timer run reports itself (the "timer did not run" alert)
GRAPH_THROTTLED = "graph.throttled"  # count, dim api (reporting | directory)
DEAD_LETTERS = "queue.dead_letters"  # gauge, dim queue
SYNC_CURSOR_AGE = "sync.cursor_age_s"  # gauge, dim source: age of the oldest unread change
SYNC_RETENTION = "sync.retention_s"  # gauge, dim source: how long the source keeps its feed
INGEST_LAG = "signin.ingest_lag_s"  # measure: now - createdDateTime of each newly ingested record

OUTCOME_BY_CODE = {
    0: "success",
    50126: "invalid_password",
    50053: "locked",
    50055: "password_reset",
    50056: "no_password",
    50057: "disabled",
    50034: "not_found",
    1003001: "callout_error",
    1003002: "callout_error",
    1003003: "callout_error",
    1003004: "callout_throttled",
    1003005: "callout_timeout",
}
CALLOUT_CODES = frozenset({1003000, 1003001, 1003002, 1003003, 1003004, 1003005})


def outcome_of(code: int) -> str:
    return OUTCOME_BY_CODE.get(code, "other")


def code_label(code: int) -> str:
    return str(code) if code in OUTCOME_BY_CODE or code in CALLOUT_CODES else "other"


class MetricSink:
    """One call per point: counted on the Telemetry port and, when a store is given, kept for local alerts."""

    def __init__(self, telemetry: Telemetry, store: MonitorStore | None = None) -> None:
        self._telemetry = telemetry
        self._store = store
        self._pending: list[MetricPoint] = []

    def count(self, name: str, value: float = 1, *, at: datetime | None = None, **dims: str) -> None:
        self._telemetry.count(name, int(value), **dims)
        self._keep(name, value, at, dims)

    def gauge(self, name: str, value: float, *, at: datetime | None = None, **dims: str) -> None:
        self._telemetry.measure(name, value, **dims)
        self._keep(name, value, at, dims)

    def _keep(self, name: str, value: float, at: datetime | None, dims: dict[str, str]) -> None:
        if self._store is not None:
            self._pending.append(MetricPoint(name, at or datetime.now(UTC), float(value), dict(dims)))

    def take(self) -> list[MetricPoint]:
        """The points kept since the last take/flush (for a caller that commits them with other state)."""
        points, self._pending = self._pending, []
        return points

    async def flush(self) -> None:
        if self._store is not None and self._pending:
            points, self._pending = self._pending, []
            await self._store.add_points(points)


class PointWriter(Protocol):
    """What StoreTelemetry needs: a synchronous append (SqliteMonitorStore has one)."""

    def write_now(self, points: Sequence[MetricPoint]) -> None: ...


class StoreTelemetry:
    """A Telemetry adapter for the local JIT endpoint: every count/measure becomes a point in the monitor store
    (synchronously, the endpoint's telemetry calls are sync). Attributes pass through unchanged; the endpoint
    only uses bounded ones (action, reason)."""

    def __init__(self, writer: PointWriter) -> None:
        self._writer = writer

    def count(self, name: str, value: int = 1, **attributes: object) -> None:
        self._writer.write_now([MetricPoint(name, datetime.now(UTC), float(value), _labels(attributes))])

    def measure(self, name: str, value: float, **attributes: object) -> None:
        self._writer.write_now([MetricPoint(name, datetime.now(UTC), float(value), _labels(attributes))])


def _labels(attributes: dict[str, object]) -> dict[str, str]:
    return {k: str(v) for k, v in attributes.items()}
