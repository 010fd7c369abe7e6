"""Ingestion against the emulator: the real GraphSignInLog over HTTP, a temp SqliteMonitorStore, and helpers
that put sign-in records on the emulator's arrival queue with chosen delays (minutes, before time-scale)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx

from emulator import EmulatorServer
from shared.adapters.graph.client import emulator_token
from shared.handlers.ingest_signins import IngestPorts
from shared.monitoring.metrics import SIGNIN_OUTCOMES, MetricSink
from shared.monitoring.reporting_limiter import ReportingLimiter
from shared.monitoring.signin_log import GraphSignInLog
from shared.monitoring.sqlite_store import SqliteMonitorStore
from shared.telemetry import TallyTelemetry

READER_APP = "5eed0000-0000-4000-8000-00000000feed"


def ingest_ports(
    emulator: EmulatorServer, client: httpx.AsyncClient, state: Path, *, max_requests: int = 4, page_size: int = 1000
) -> tuple[IngestPorts, SqliteMonitorStore, GraphSignInLog]:
    scale = emulator.config.time_scale
    store = SqliteMonitorStore(state / "monitor.db")

    async def token() -> str:
        return emulator_token(READER_APP).token

    log = GraphSignInLog(client, token, page_size=page_size)
    limiter = ReportingLimiter(max_requests, emulator.config.quotas.reporting_window_s / scale)
    return IngestPorts(log, store, limiter, MetricSink(TallyTelemetry(), store)), store, log


def queue_sign_ins(emulator: EmulatorServer, count: int, rng: random.Random, *, late_share: float) -> list[str]:
    """`count` records created now, arriving 2–5 min later, `late_share` of them 5–30 min later (scaled)."""
    scale = emulator.config.time_scale
    ids = []
    for _ in range(count):
        minutes = rng.uniform(5, 30) if rng.random() < late_share else rng.uniform(2, 5)
        record = {
            "id": str(uuid.uuid4()),
            "createdDateTime": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "userId": str(uuid.uuid4()),
            "appId": "app-a",
            "status": {"errorCode": rng.choice([0, 0, 0, 50126])},
        }
        emulator.tenant.arrivals.add(record, minutes * 60 / scale)
        ids.append(record["id"])
    return ids


async def counted(store: SqliteMonitorStore) -> int:
    points = await store.points(SIGNIN_OUTCOMES, datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
    return int(sum(p.value for p in points))


def reporting_429s(emulator: EmulatorServer) -> int:
    counters = emulator.tenant.throttle.counters.get(READER_APP)
    return 0 if counters is None else counters.throttled_by.get("ReportingLimitExceeded", 0)
