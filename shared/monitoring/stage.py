"""The monitoring stages as the stage table runs them under the Functions host.

ingest sign-ins (timer, SIGNIN_INGEST_SCHEDULE): pages GRAPH_URL's auditLogs/signIns from the stored cursor
(shared.handlers.ingest_signins), then evaluates the alert rules (alerts/rules.json, the local form of the
KQL rules) over the store and returns one AlertRaised per firing (alert key, window) for ALERTS_QUEUE; its
message id is that pair, so a second evaluation of the window is one notification (R32). In Azure the JIT
endpoint's metrics go to Application Insights only, so the JIT rules fire there (infra/monitoring.bicep), not here.
dispatch alert (queue ALERTS_QUEUE): one notification per (alert key, window), to ALERT_WEBHOOK_URL when set
(shared.handlers.dispatch_alert); no follow-ups.
Both go through the MonitorStore port the CLI uses (`watch`, `report`, `rehearse`); under Azure it is the
Table monitor store every instance shares (shared.bootstrap.monitor_store, MONITOR_TABLE), so two instances
neither count a sign-in twice nor notify an alert twice.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from shared.config import Settings
from shared.handlers.dispatch_alert import WebhookNotifier, dispatch_alert
from shared.handlers.ingest_signins import IngestPorts, IngestSettings, ingest_signins
from shared.handlers.workflow import Workflow
from shared.messages import AlertRaised, Envelope, envelope_id
from shared.monitoring.alert_rules import evaluate, load_rules, raised_alerts
from shared.monitoring.metrics import MetricSink
from shared.monitoring.reporting_limiter import ReportingLimiter
from shared.monitoring.signin_log import GraphSignInLog
from shared.monitoring.store import MonitorStore
from shared.ports import Ports

MONITORING_STARTED = "monitoring.started_at"  # a cursor: rules about silence judge only windows watched in full


async def ingest_signins_stage(ports: Ports, workflow: Workflow) -> list[Envelope]:
    from azure.core.credentials_async import AsyncTokenCredential

    from shared.adapters.graph.client import EmulatorCredential, graph_scope, is_loopback_url
    from shared.bootstrap import azure_runtime, monitor_store

    settings = (await azure_runtime()).settings
    credential: AsyncTokenCredential
    if is_loopback_url(settings.GRAPH_URL):
        credential = EmulatorCredential()
    else:
        from azure.identity.aio import DefaultAzureCredential

        credential = DefaultAzureCredential()

    async def token() -> str:
        return (await credential.get_token(graph_scope(settings.GRAPH_URL))).token

    store = await monitor_store()
    now = datetime.now(UTC)
    try:
        async with httpx.AsyncClient(base_url=f"{settings.GRAPH_URL.rstrip('/')}/v1.0", timeout=30) as client:
            sink = MetricSink(ports.telemetry, store)
            await ingest_signins(now, IngestPorts(GraphSignInLog(client, token), store, ReportingLimiter(), sink),
                                 IngestSettings.from_settings(settings))  # fmt: skip
    finally:
        await credential.close()
    return await alerts_to_send(store, datetime.now(UTC), settings)


async def alerts_to_send(store: MonitorStore, now: datetime, settings: Settings) -> list[Envelope]:
    """The alert rules evaluated over the monitor store: an AlertRaised envelope per firing (key, window)."""
    started = await store.get_cursor(MONITORING_STARTED)
    if started is None:
        await store.put_cursor(MONITORING_STARTED, now.isoformat())
    started_at = datetime.fromisoformat(started) if started else now
    states = await evaluate(load_rules(), store, now, started_at=started_at)
    return [
        Envelope(id=envelope_id(alert.run_id, "alert", f"{alert.key}:{alert.window}"), queue=settings.ALERTS_QUEUE,
                 payload=alert)
        for alert in raised_alerts(states)
    ]  # fmt: skip


async def dispatch_alert_stage(alert: AlertRaised, ports: Ports, workflow: Workflow) -> list[Envelope]:
    from shared.bootstrap import azure_runtime, monitor_store

    settings = (await azure_runtime()).settings
    store = await monitor_store()
    async with httpx.AsyncClient() as client:
        url = settings.ALERT_WEBHOOK_URL.get_secret_value() if settings.ALERT_WEBHOOK_URL else ""
        notifier = WebhookNotifier(url, client) if url else None
        await dispatch_alert(alert, store, notifier)
    return []
