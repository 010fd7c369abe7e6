"""Alert rules as code, evaluated locally: `alerts/rules.json` names each rule, its threshold, window and
frequency, and the local form of the query whose Azure form is `alerts/<name>.kql` (same metric, same filters,
same aggregation, same threshold; tests/monitoring/test_alert_rules.py checks the two agree on every rule).

`evaluate(rules, store, now)` returns one AlertState per rule (and per group for grouped rules); `firing` is
`value > threshold`. Kind `share` counts points, not their values (the share of timed calls in a band, e.g.
decisions over half the latency budget: a percentile test that pre-aggregated metrics can answer).
Windows are real minutes divided by `time_scale`. Rules of kind `absent` only judge a window
the monitors have fully observed (`started_at` + window <= now), so a fresh start never reads as silence.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from shared.messages import AlertRaised
from shared.monitoring.store import MetricPoint, MonitorStore

RULES_DIR = Path(__file__).resolve().parents[2] / "alerts"


@dataclass(frozen=True)
class AlertRule:
    name: str
    severity: int
    frequency_minutes: float
    window_minutes: float
    threshold: float
    summary: str
    local: dict[str, Any]

    @property
    def query_file(self) -> Path:
        return RULES_DIR / f"{self.name}.kql"


@dataclass(frozen=True)
class AlertState:
    rule: AlertRule
    key: str  # rule name, plus the group for grouped rules (e.g. a source): the dedupe key
    value: float | None  # None: not enough data to judge
    window_start: datetime
    window_end: datetime

    @property
    def firing(self) -> bool:
        return self.value is not None and self.value > self.rule.threshold

    def window_id(self, time_scale: float = 1.0) -> str:
        """The notification window: one per rule window length, so overlapping evaluations share it (R32)."""
        length = self.rule.window_minutes * 60 / time_scale
        return str(int(self.window_end.timestamp() // length))


def load_rules(path: Path | None = None, overrides: dict[str, float] | None = None) -> list[AlertRule]:
    """The rules; `overrides` maps a rule name to another threshold (e.g. the measured pre-cutover baseline)."""
    raw = json.loads((path or RULES_DIR / "rules.json").read_text(encoding="utf-8"))
    rules = []
    for item in raw["rules"]:
        threshold = (overrides or {}).get(item["name"], item["threshold"])
        rules.append(AlertRule(item["name"], int(item["severity"]), float(item["frequencyMinutes"]),
                               float(item["windowMinutes"]), float(threshold), item["summary"], item["local"]))  # fmt: skip  # noqa: E501
    return rules


def _matches(point: MetricPoint, spec: dict[str, Any]) -> bool:
    for key, allowed in (spec.get("where") or {}).items():
        if point.dimensions.get(key) not in allowed:
            return False
    for key, refused in (spec.get("not") or {}).items():
        if point.dimensions.get(key) in refused:
            return False
    return all(point.dimensions.get(k) not in v for k, v in (spec.get("exclude") or {}).items())


async def _sum(store: MonitorStore, spec: dict[str, Any], since: datetime, until: datetime) -> tuple[float, int]:
    points = [p for p in await store.points(spec["metric"], since, until) if _matches(p, spec)]
    return sum(p.value for p in points), len(points)


async def evaluate(
    rules: list[AlertRule], store: MonitorStore, now: datetime, *, time_scale: float = 1.0,
    started_at: datetime | None = None,
) -> list[AlertState]:  # fmt: skip
    states: list[AlertState] = []
    for rule in rules:
        since = now - timedelta(minutes=rule.window_minutes / time_scale)
        spec = rule.local
        kind = spec["kind"]
        value: float | None = None
        if kind == "ratio":
            numerator, _ = await _sum(store, spec["numerator"], since, now)
            denominator, _ = await _sum(store, spec["denominator"], since, now)
            if denominator >= spec.get("minDenominator", 1):
                value = numerator / denominator
        elif kind == "share":
            _, numerator_n = await _sum(store, spec["numerator"], since, now)
            _, denominator_n = await _sum(store, spec["denominator"], since, now)
            if denominator_n >= spec.get("minDenominator", 1):
                value = numerator_n / denominator_n
        elif kind == "sum":
            value, _ = await _sum(store, spec, since, now)
        elif kind == "max":
            points = [p for p in await store.points(spec["metric"], since, now) if _matches(p, spec)]
            value = max((p.value for p in points), default=None)
        elif kind == "absent":
            if started_at is not None and started_at <= since:
                total, _ = await _sum(store, spec, since, now)
                value = 0.0 if total > 0 else 1.0
        elif kind == "gauge_ratio":
            states.extend(await _gauge_ratio(rule, store, since, now))
            continue
        else:
            raise ValueError(f"alerts/rules.json: rule {rule.name} has unknown local kind {kind!r}")
        states.append(AlertState(rule, rule.name, value, since, now))
    return states


async def _gauge_ratio(rule: AlertRule, store: MonitorStore, since: datetime, now: datetime) -> list[AlertState]:
    spec, by = rule.local, rule.local["by"]
    top: dict[str, dict[str, float]] = defaultdict(dict)
    for role in ("numerator", "denominator"):
        for point in await store.points(spec[role], since, now):
            group = point.dimensions.get(by, "")
            top[group][role] = max(top[group].get(role, float("-inf")), point.value)
    states = []
    for group, values in sorted(top.items()):
        retention = values.get("denominator", 0.0)
        value = values["numerator"] / retention if retention > 0 and "numerator" in values else None
        states.append(AlertState(rule, f"{rule.name}:{group}", value, since, now))
    return states


def raised_alerts(states: list[AlertState], *, time_scale: float = 1.0) -> list[AlertRaised]:
    """An AlertRaised for every firing state, keyed by (alert key, notification window)."""
    return [
        AlertRaised(key=s.key, window=s.window_id(time_scale), rule=s.rule.name, severity=s.rule.severity,
                    summary=s.rule.summary, value=float(s.value or 0.0), threshold=s.rule.threshold,
                    raised_at=s.window_end)
        for s in states
        if s.firing
    ]
