"""dispatch alert (Service Bus `alerts`): one notification per alert key and window, however often delivered.

In: AlertRaised. Out: nothing queued; the alert recorded in the monitor store (for `watch` and the report) and,
when a webhook is configured, one Teams/Slack-style JSON POST. Idempotent by (key, window): a redelivery, or a
second evaluation of an overlapping window, finds the notification already sent and does nothing (R32). Delivery
is retried with backoff; when every attempt fails, AlertDeliveryFailed propagates so the message is redelivered
(the notification is not marked sent, so the retry delivers it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from shared.messages import AlertRaised

logger = logging.getLogger(__name__)


class AlertDeliveryFailed(Exception):
    """The webhook refused or could not be reached on every attempt (transient: redeliver the message)."""


class AlertLog(Protocol):
    async def notification_sent(self, key: str, window: str) -> bool: ...
    async def record_alert(self, alert: AlertRaised, *, delivered: bool) -> None:
        """Mark (key, window) as notified and keep the alert for watch/report."""


class Notifier(Protocol):
    async def notify(self, alert: AlertRaised) -> None: ...


def webhook_body(alert: AlertRaised) -> dict[str, Any]:
    """Works for Slack incoming webhooks (`text`) and Teams workflows / connectors (`title` + `text`)."""
    text = (f"[Sev{alert.severity}] {alert.rule}: {alert.summary} "
            f"(value {alert.value:.4g}, threshold {alert.threshold:.4g}, at {alert.raised_at.isoformat()})")  # fmt: skip  # noqa: E501
    return {"title": f"ciam-migrate alert: {alert.rule}", "text": text, "alertKey": alert.key,
            "window": alert.window, "severity": alert.severity}  # fmt: skip


@dataclass
class WebhookNotifier:
    url: str
    client: httpx.AsyncClient
    attempts: int = 3
    backoff_s: float = 1.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    async def notify(self, alert: AlertRaised) -> None:
        for attempt in range(1, self.attempts + 1):
            try:
                response = await self.client.post(self.url, json=webhook_body(alert), timeout=10)
                if response.status_code < 300:
                    return
                retryable = response.status_code == 429 or response.status_code >= 500
                if not retryable:
                    raise AlertDeliveryFailed(f"webhook answered HTTP {response.status_code}")
            except httpx.HTTPError as exc:
                logger.warning("alert webhook attempt %d failed (%s)", attempt, type(exc).__name__)
            if attempt < self.attempts:
                await self.sleep(self.backoff_s * 2 ** (attempt - 1))
        raise AlertDeliveryFailed(f"webhook unreachable after {self.attempts} attempts")


async def dispatch_alert(alert: AlertRaised, log: AlertLog, notifier: Notifier | None) -> bool:
    """True when this call sent the notification; False when (key, window) was already notified."""
    if await log.notification_sent(alert.key, alert.window):
        return False
    if notifier is not None:
        await notifier.notify(alert)
    await log.record_alert(alert, delivered=notifier is not None)
    logger.info("alert %s fired (window %s, value %.4g)", alert.key, alert.window, alert.value)
    return True
