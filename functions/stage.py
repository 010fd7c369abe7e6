"""The one way a Service Bus trigger runs a stage: rebuild the envelope, run the handler, send follow-ups.

A poison message (bad JSON, unknown type, oversized) is parked on first delivery with a reason that
holds no message content, and the invocation returns normally so Service Bus does not redeliver it.
Any other exception propagates: Service Bus redelivers and dead-letters after maxDeliveryCount.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import azure.functions as func

from shared.adapters.servicebus import PoisonMessage, envelope_from_service_bus
from shared.bootstrap import AzureRuntime, azure_runtime
from shared.handlers.workflow import Workflow
from shared.messages import Envelope
from shared.ports import Ports

logger = logging.getLogger(__name__)

Handler = Callable[[Any, Ports, Workflow], Awaitable[list[Envelope]]]
RuntimeFactory = Callable[[], Awaitable[AzureRuntime]]


async def run_stage(
    msg: func.ServiceBusMessage, queue: str, handler: Handler, runtime: RuntimeFactory = azure_runtime
) -> list[Envelope]:
    rt = await runtime()
    try:
        envelope = envelope_from_service_bus(msg.get_body(), msg.message_id or "", queue, session_id=msg.session_id)
    except PoisonMessage as poison:
        logger.error("poison message %s on %s parked: %s", msg.message_id, queue, poison)
        rt.ports.telemetry.count("poison_messages", 1, queue=queue, code=poison.code)
        await rt.ports.artifacts.write_text("_poison", f"{queue}/{msg.message_id}.reason", str(poison))
        return []
    follow_ups = await handler(envelope.payload, rt.ports, rt.workflow)
    await rt.ports.queue.send_all(follow_ups)
    return follow_ups
