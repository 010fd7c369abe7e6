"""The monitoring stages as the stage table runs them under the Functions host.

ingest sign-ins (timer, SIGNIN_INGEST_SCHEDULE): pages GRAPH_URL's auditLogs/signIns from the stored cursor
(shared.handlers.ingest_signins) and returns no follow-ups. dispatch alert (queue ALERTS_QUEUE): one notification
per (alert key, window), to ALERT_WEBHOOK_URL when set (shared.handlers.dispatch_alert); no follow-ups.
Both go through the MonitorStore port the CLI uses (`watch`, `report`, `rehearse`). Its only adapter today is
SqliteMonitorStore at STATE_DIR/monitor.db: under Azure that is one instance's local disk, not shared; an Azure
(Table Storage) monitor store is not written yet.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx

from shared.config import Settings
from shared.handlers.dispatch_alert import WebhookNotifier, dispatch_alert
from shared.handlers.ingest_signins import IngestPorts, ingest_signins
from shared.handlers.workflow import Workflow
from shared.messages import AlertRaised, Envelope
from shared.monitoring.metrics import MetricSink
from shared.monitoring.reporting_limiter import ReportingLimiter
from shared.monitoring.signin_log import GraphSignInLog
from shared.monitoring.sqlite_store import SqliteMonitorStore
from shared.ports import Ports


def monitor_store(settings: Settings) -> SqliteMonitorStore:
    """The monitor store of this process: the CLI's, STATE_DIR/monitor.db (no Azure adapter yet)."""
    return SqliteMonitorStore(Path(settings.STATE_DIR) / "monitor.db")


async def ingest_signins_stage(ports: Ports, workflow: Workflow) -> list[Envelope]:
    from azure.core.credentials_async import AsyncTokenCredential

    from shared.adapters.graph.client import EmulatorCredential, graph_scope, is_loopback_url
    from shared.bootstrap import azure_runtime

    settings = (await azure_runtime()).settings
    credential: AsyncTokenCredential
    if is_loopback_url(settings.GRAPH_URL):
        credential = EmulatorCredential()
    else:
        from azure.identity.aio import DefaultAzureCredential

        credential = DefaultAzureCredential()

    async def token() -> str:
        return (await credential.get_token(graph_scope(settings.GRAPH_URL))).token

    store = monitor_store(settings)
    try:
        async with httpx.AsyncClient(base_url=f"{settings.GRAPH_URL.rstrip('/')}/v1.0", timeout=30) as client:
            sink = MetricSink(ports.telemetry, store)
            await ingest_signins(datetime.now(UTC), IngestPorts(GraphSignInLog(client, token), store,
                                                                ReportingLimiter(), sink))  # fmt: skip
    finally:
        store.close()
        await credential.close()
    return []


async def dispatch_alert_stage(alert: AlertRaised, ports: Ports, workflow: Workflow) -> list[Envelope]:
    from shared.bootstrap import azure_runtime

    settings = (await azure_runtime()).settings
    store = monitor_store(settings)
    try:
        async with httpx.AsyncClient() as client:
            url = settings.ALERT_WEBHOOK_URL.get_secret_value() if settings.ALERT_WEBHOOK_URL else ""
            notifier = WebhookNotifier(url, client) if url else None
            await dispatch_alert(alert, store, notifier)
    finally:
        store.close()
    return []
