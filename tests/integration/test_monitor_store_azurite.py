"""The Table monitor store (Azurite) under two Functions instances: R14 across instances.

Two ingest_signins runs, each with its own TableMonitorStore client, limiter and Graph reader, tick at the
same moments over one table against one emulator (time-scale 600: 1 s = 10 min). Both read the same pages;
each sign-in must be counted once (its points written once) and none missed, including late ones.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import httpx

from emulator import EmulatorConfig, serve
from shared.adapters.graph.client import emulator_token
from shared.handlers.ingest_signins import IngestPorts, ingest_signins
from shared.messages import AlertRaised
from shared.monitoring.metrics import SIGNIN_OUTCOMES, MetricSink
from shared.monitoring.reporting_limiter import ReportingLimiter
from shared.monitoring.signin_log import GraphSignInLog
from shared.monitoring.store import MetricPoint, SignInClaim
from shared.monitoring.table_store import TableMonitorStore
from shared.telemetry import TallyTelemetry
from tests.monitoring.ingest_rig import READER_APP, queue_sign_ins
from tests.monitoring.test_r14_r15_ingestion import EVER, SCALE, scaled_settings


class ContestedStore(TableMonitorStore):
    """Counts the sign-ins this instance offered but the other instance had claimed first."""

    lost = 0

    async def claim_sign_ins(self, claims: Sequence[SignInClaim], points: Sequence[MetricPoint] = ()) -> set[str]:
        claimed = await super().claim_sign_ins(claims, points)
        self.lost += len(claims) - len(claimed)
        return claimed


async def test_two_instances_over_one_table_count_each_sign_in_once_and_miss_none(
    azurite_connection_string: str,
) -> None:
    name = f"m{uuid.uuid4().hex}"
    stores = [ContestedStore.from_connection_string(azurite_connection_string, name) for _ in range(2)]
    await stores[0].ensure_table()
    rng = random.Random(1414)
    try:
        await _race(stores, rng)
    finally:
        for store in stores:
            await store.close()


async def _race(stores: list[ContestedStore], rng: random.Random) -> None:
    async def token() -> str:
        return emulator_token(READER_APP).token

    async with (
        serve(EmulatorConfig(port=0, time_scale=SCALE)) as emulator,
        httpx.AsyncClient(base_url=emulator.graph_url, timeout=30) as client,
    ):
        window = emulator.config.quotas.reporting_window_s / SCALE
        ports = [IngestPorts(GraphSignInLog(client, token), store, ReportingLimiter(2, window),  # 2 + 2 under 5
                             MetricSink(TallyTelemetry(), store)) for store in stores]  # fmt: skip
        settings = scaled_settings()
        expected: list[str] = []
        ingested: list[list[str]] = [[], []]
        for tick in range(24):  # two simulated hours of 5-minute ticks, both instances at once
            if tick < 8:
                expected += queue_sign_ins(emulator, 25, rng, late_share=0.3)
            results = await asyncio.gather(*(ingest_signins(datetime.now(UTC), p, settings) for p in ports))
            for mine, result in zip(ingested, results, strict=True):
                mine += result.new_ids
            await asyncio.sleep(5 * 60 / SCALE)
        assert len(emulator.tenant.arrivals) == 0, "every record has arrived by the end"
        points = await stores[1].points(SIGNIN_OUTCOMES, *EVER)
        both = ingested[0] + ingested[1]
        missed = len(set(expected) - set(both))
        double_counted = int(sum(p.value for p in points)) - len(set(expected))
        assert len(both) == len(set(both)), "no sign-in was claimed by both instances"
        assert sum(s.lost for s in stores) > 0, "the instances did race for the same sign-ins"
        assert (missed, double_counted) == (0, 0), f"missed {missed}, double counted {double_counted}"
        assert (await stores[0].note_users([], []))[0] == len(expected), "users seen once each"


async def test_cursor_and_one_notification_per_window_are_shared(azurite_connection_string: str) -> None:
    name = f"m{uuid.uuid4().hex}"
    first, second = (TableMonitorStore.from_connection_string(azurite_connection_string, name) for _ in range(2))
    await first.ensure_table()
    await first.put_cursor("ingest_signins", "2026-01-01T00:00:00.000000Z")
    assert await second.get_cursor("ingest_signins") == "2026-01-01T00:00:00.000000Z"
    alert = AlertRaised(key="jit_errors", window="2026-01-01T00:00", rule="jit_errors", severity=1,
                        summary="JIT errors above 2 %", value=0.05, threshold=0.02,
                        raised_at=datetime(2026, 1, 1, tzinfo=UTC))  # fmt: skip
    assert not await second.notification_sent(alert.key, alert.window)
    await asyncio.gather(first.record_alert(alert, delivered=True), second.record_alert(alert, delivered=True))
    assert await second.notification_sent(alert.key, alert.window)
    assert [a.key for a in await first.alerts()] == ["jit_errors"]
    await first.close()
    await second.close()


async def test_azure_settings_select_the_table_monitor_store(azurite_connection_string: str) -> None:
    from pydantic import SecretStr

    from shared.bootstrap import open_monitor_store
    from shared.config import Settings

    table = f"m{uuid.uuid4().hex}"
    store = open_monitor_store(Settings(STORAGE_CONNECTION_STRING=SecretStr(azurite_connection_string),
                                        MONITOR_TABLE=table))  # fmt: skip
    try:
        assert isinstance(store, TableMonitorStore)
        await store.ensure_table()
        await store.put_cursor("ingest_signins", "x")
        other = TableMonitorStore.from_connection_string(azurite_connection_string, table)
        assert await other.get_cursor("ingest_signins") == "x"
        await other.close()
    finally:
        await store.close()
