"""The one way a Service Bus trigger runs a stage: rebuild the envelope, admit it, run the handler, send follow-ups.

A poison message (bad JSON, unknown type, a type that belongs on another stage's queue, oversized) is parked on
first delivery — its reason, which holds no message content, is written to the `_poison` artifacts — and the
invocation returns normally so Service Bus does not redeliver it. Any other exception propagates: Service Bus
redelivers and dead-letters after maxDeliveryCount.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import azure.functions as func

from shared.adapters.servicebus import envelope_from_service_bus
from shared.bootstrap import AzureRuntime, azure_runtime
from shared.errors import PoisonMessage
from shared.messages import Envelope
from shared.stages import Stage

logger = logging.getLogger(__name__)

RuntimeFactory = Callable[[], Awaitable[AzureRuntime]]


async def run_stage(
    msg: func.ServiceBusMessage, stage: Stage, runtime: RuntimeFactory = azure_runtime
) -> list[Envelope]:
    rt = await runtime()
    queue = stage.queue_name(rt.settings)
    try:
        envelope = envelope_from_service_bus(msg.get_body(), msg.message_id or "", queue, session_id=msg.session_id)
        stage.admit(envelope.payload)
    except PoisonMessage as poison:
        logger.error("poison message %s on %s parked: %s", msg.message_id, queue, poison)
        rt.ports.telemetry.count("poison_messages", 1, queue=queue, code=poison.code)
        await rt.ports.artifacts.write_text("_poison", f"{queue}/{msg.message_id}.reason", str(poison))
        return []
    if stage.handler is None:
        raise ValueError(f"stage {stage.name} has no handler")
    follow_ups: list[Envelope] = await stage.handler(envelope.payload, rt.ports, rt.workflow)
    await rt.ports.queue.send_all(follow_ups)
    return follow_ups
