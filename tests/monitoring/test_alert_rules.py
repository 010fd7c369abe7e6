"""Each rule's KQL (Azure) and local form say the same thing, and the local evaluator fires on a fixture exactly
when the rule's condition holds."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shared.monitoring.alert_rules import RULES_DIR, evaluate, load_rules
from shared.monitoring.sqlite_store import SqliteMonitorStore
from shared.monitoring.store import MetricPoint

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


def metrics_named(local: dict[str, object]) -> set[str]:
    found: set[str] = set()
    for key, value in local.items():
        if key == "metric" or (key in ("numerator", "denominator") and isinstance(value, str)):
            found.add(str(value))
        elif isinstance(value, dict):
            found |= metrics_named(value)
    return found


def filter_values(local: dict[str, object]) -> set[str]:
    found: set[str] = set()
    for key, value in local.items():
        if key in ("where", "not", "exclude") and isinstance(value, dict):
            found |= {str(v) for values in value.values() for v in values}
        elif isinstance(value, dict):
            found |= filter_values(value)
    return found


def test_every_rule_has_a_query_that_names_its_metrics_filters_and_window() -> None:
    rules = load_rules()
    assert len(rules) >= 9
    assert {p.stem for p in RULES_DIR.glob("*.kql")} == {r.name for r in rules}
    for rule in rules:
        kql = rule.query_file.read_text(encoding="utf-8")
        assert f"ago({int(rule.window_minutes)}m)" in kql, rule.name
        for metric in metrics_named(rule.local):
            assert f'"{metric}"' in kql, (rule.name, metric)
        for value in filter_values(rule.local):
            assert f'"{value}"' in kql, (rule.name, value)
        assert re.search(r"\bvalue\b", kql), f"{rule.name}: the query must yield a 'value' column for Bicep"


async def test_local_evaluator_fires_exactly_on_its_conditions(tmp_path: Path) -> None:
    store = SqliteMonitorStore(tmp_path / "monitor.db")
    at = NOW - timedelta(minutes=3)

    def outcome(n: int, **dims: str) -> list[MetricPoint]:
        return [MetricPoint("signin.outcomes", at, 1, {"wave": "w1", "jit": "none", **dims}) for _ in range(n)]

    await store.add_points([
        *outcome(80, outcome="success", code="0"),
        *outcome(20, outcome="callout_timeout", code="1003005", jit="called"),
        *outcome(30, outcome="success", code="0", jit="called"),
        *outcome(60, outcome="locked", code="50053"),
        MetricPoint("sync.cursor_age_s", at, 5000, {"source": "auth0"}),
        MetricPoint("sync.retention_s", at, 86400, {"source": "auth0"}),
        MetricPoint("sync.cursor_age_s", at, 50000, {"source": "okta"}),
        MetricPoint("sync.retention_s", at, 86400, {"source": "okta"}),
        MetricPoint("queue.dead_letters", at, 0, {"queue": "import-chunks"}),
    ])  # fmt: skip
    states = await evaluate(load_rules(), store, NOW, started_at=NOW - timedelta(hours=1))
    firing = {s.key for s in states if s.firing}
    assert firing == {
        "signin_failure_rate_above_baseline",  # 80 failures / 190 = 0.42 > 0.15
        "jit_callout_failures",  # 20 / 50 callouts
        "lockout_spike",  # 60 > 50
        "sync_cursor_age:okta",  # 50000 / 86400 > 0.5; auth0 is fine
        "timer_missed",  # no stage.run point in 10 min
    }
    assert not any(s.firing for s in states if s.key == "sync_cursor_age:auth0")
    assert next(s for s in states if s.key == "dead_letters").value == 0


async def test_slow_decisions_fire_the_latency_rule_however_many_fast_sheds_surround_them(tmp_path: Path) -> None:
    """A slowdown makes the endpoint shed most calls in ~1 ms; a mean over every call would read as fast."""
    store = SqliteMonitorStore(tmp_path / "monitor.db")
    at = NOW - timedelta(minutes=3)

    def timed(n: int, ms: float, action: str) -> list[MetricPoint]:
        budget = "over_half" if ms > 1000 else "within"
        return [MetricPoint("jit.latency_ms", at, ms, {"action": action, "budget": budget}) for _ in range(n)]

    rules = [r for r in load_rules() if r.name == "jit_latency_near_budget"]
    await store.add_points([*timed(60, 1, "Throttled"), *timed(9, 40, "MigratePassword"), *timed(2, 1500, "Retry")])
    (state,) = await evaluate(rules, store, NOW)
    assert state.value == 2 / 11 and state.firing  # the mean over all 71 calls is 48 ms
    await store.add_points(timed(10, 40, "MigratePassword"))  # 2 slow of 21 decisions: p90 is under 1 s
    (state,) = await evaluate(rules, store, NOW)
    assert state.value == 2 / 21 and not state.firing


async def test_absent_rules_wait_for_a_full_window(tmp_path: Path) -> None:
    store = SqliteMonitorStore(tmp_path / "monitor.db")
    states = await evaluate(load_rules(), store, NOW, started_at=NOW - timedelta(minutes=5))
    assert not any(s.firing for s in states)


def test_bicep_deploys_every_rule_from_its_query_file() -> None:
    infra = Path(__file__).resolve().parents[2] / "infra"
    bicep = (infra / "monitoring.bicep").read_text(encoding="utf-8")
    for rule in load_rules():
        assert f"{rule.name}: loadTextContent('../alerts/{rule.name}.kql')" in bicep, rule.name
    assert "Microsoft.Insights/scheduledQueryRules@2023-12-01" in bicep and "kind: 'LogAlert'" in bicep
    assert "Microsoft.Insights/actionGroups@" in bicep and "Microsoft.Insights/workbooks@2023-06-01" in bicep
    assert "module monitoring 'monitoring.bicep'" in (infra / "main.bicep").read_text(encoding="utf-8")
