"""R32: the same alert condition across redeliveries and overlapping windows → one notification per alert key
and window (duplicate notifications 0), delivered to a real loopback webhook that fails twice first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

from shared.handlers.dispatch_alert import WebhookNotifier, dispatch_alert
from shared.monitoring.alert_rules import evaluate, load_rules, raised_alerts
from shared.monitoring.sqlite_store import SqliteMonitorStore
from shared.monitoring.store import MetricPoint

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


async def no_sleep(_: float) -> None:
    return None


async def test_r32_duplicate_notifications_0(tmp_path: Path) -> None:
    received: list[dict[str, Any]] = []
    failures_left = [2]

    async def hook(request: web.Request) -> web.Response:
        if failures_left[0] > 0:
            failures_left[0] -= 1
            return web.Response(status=503)
        received.append(await request.json())
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        store = SqliteMonitorStore(tmp_path / "monitor.db")
        await store.add_points([MetricPoint("signin.outcomes", NOW - timedelta(minutes=1), 1,
                                            {"outcome": "locked", "wave": "w1", "jit": "none"})] * 60)  # fmt: skip
        rules = load_rules()
        async with httpx.AsyncClient() as client:
            notifier = WebhookNotifier(f"http://127.0.0.1:{port}/hook", client, sleep=no_sleep)
            sent = 0
            alerts = []
            for minutes in (0, 5):  # two evaluations of overlapping 15-minute windows
                at = NOW + timedelta(minutes=minutes)
                states = await evaluate(rules, store, at, started_at=NOW - timedelta(hours=1))
                alerts += raised_alerts(states)
            for alert in alerts * 3:  # and every message delivered three times
                sent += await dispatch_alert(alert, store, notifier)
        keys = {(a.key, a.window) for a in alerts}
        duplicates = len(received) - len(keys)
        assert duplicates == 0, f"duplicate notifications {duplicates}"
        assert sent == len(keys) == len(received) >= 2  # lockout_spike and timer_missed, each once
        assert {r["alertKey"] for r in received} >= {"lockout_spike"}
        assert [a.key for a in store.alerts()].count("lockout_spike") == 1
    finally:
        await runner.cleanup()
