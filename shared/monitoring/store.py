"""The monitoring store port: stage cursors, sign-in ids already counted, metric points, alert notifications.

Contract (adapters: `SqliteMonitorStore`, state/monitor.db, locally; `TableMonitorStore`, MONITOR_TABLE, in Azure):
* `get_cursor`/`put_cursor` by stage name: the ISO upper bound of the last completed read;
* `unseen(ids)` names the sign-ins not counted yet; `claim_sign_ins(claims, points)` remembers each sign-in
  together with the points it produced (dedupe across overlapping windows, R14). A sign-in that is already
  claimed — by an earlier run, or by another instance reading the same page at the same time — keeps its
  first points: its points in this call are dropped, so it is never counted twice. Returns the ids this
  call claimed. `forget_sign_ins_before` prunes ids older than any overlap window can reach;
* `add_points` appends metric points (name, time, value, bounded dimensions) for the local alert evaluator;
* `note_users` keeps which users tried and which succeeded since cutover (for the % migrated gauge);
* `notification_sent(key, window)` / `record_alert(alert)`: one notification per (alert key, window) (R32).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from shared.messages import AlertRaised


@dataclass(frozen=True)
class MetricPoint:
    name: str
    at: datetime
    value: float
    dimensions: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SeenSignIn:
    id: str
    created: datetime


@dataclass(frozen=True)
class SignInClaim:
    """One newly seen sign-in and the metric points it produced."""

    sign_in: SeenSignIn
    points: tuple[MetricPoint, ...] = ()


class MonitorStore(Protocol):
    async def get_cursor(self, name: str) -> str | None: ...
    async def put_cursor(self, name: str, value: str) -> None: ...
    async def unseen(self, ids: Sequence[str]) -> set[str]:
        """The ids not counted yet."""

    async def claim_sign_ins(self, claims: Sequence[SignInClaim], points: Sequence[MetricPoint] = ()) -> set[str]:
        """Remember each sign-in with its points unless already claimed, append `points`; the ids claimed."""

    async def forget_sign_ins_before(self, created: datetime) -> None: ...
    async def add_points(self, points: Sequence[MetricPoint]) -> None: ...
    async def points(self, name: str, since: datetime, until: datetime) -> list[MetricPoint]: ...
    async def note_users(self, attempted: Sequence[str], succeeded: Sequence[str]) -> tuple[int, int]:
        """Remember users seen since cutover (ids stay in this store, never in telemetry); returns
        (users who tried, users who succeeded at least once)."""

    async def notification_sent(self, key: str, window: str) -> bool: ...
    async def record_alert(self, alert: AlertRaised, *, delivered: bool) -> None: ...
