"""The one way a Service Bus trigger runs a stage: rebuild the envelope, admit it, run the handler, send follow-ups.

The body is an Envelope's payload, or for an `event_grid` row an Event Grid event (shared/event_grid.py).
A poison message (bad JSON, unknown type, a type that belongs on another stage's queue, oversized) is parked on
first delivery — its reason, which holds no message content, is written to the `_poison` artifacts — and the
invocation returns normally so Service Bus does not redeliver it. A permanent error of the run (an unreadable
export, Graph refusing access, a conflicting extension type) is recorded on the run, which `status` then shows
as failed with that cause, and is not redelivered either, as the local host does. Any other exception
propagates: Service Bus redelivers and dead-letters after maxDeliveryCount.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import azure.functions as func

from shared.adapters.graph.errors import GraphAccessDenied
from shared.adapters.servicebus import envelope_from_service_bus
from shared.bootstrap import AzureRuntime, azure_runtime
from shared.errors import ExtensionTypeConflict, PoisonMessage
from shared.event_grid import envelope_from_event_grid
from shared.messages import Envelope
from shared.sources import UnreadableExport
from shared.stages import Stage

logger = logging.getLogger(__name__)

RuntimeFactory = Callable[[], Awaitable[AzureRuntime]]


async def run_stage(
    msg: func.ServiceBusMessage, stage: Stage, runtime: RuntimeFactory = azure_runtime
) -> list[Envelope]:
    rt = await runtime()
    queue = stage.queue_name(rt.settings)
    try:
        if stage.delivery == "event_grid":
            envelope = envelope_from_event_grid(msg.get_body(), msg.message_id or "", queue)
        else:
            envelope = envelope_from_service_bus(msg.get_body(), msg.message_id or "", queue, session_id=msg.session_id)
        stage.admit(envelope.payload)
    except PoisonMessage as poison:
        logger.error("poison message %s on %s parked: %s", msg.message_id, queue, poison)
        rt.ports.telemetry.count("poison_messages", 1, queue=queue, code=poison.code)
        await rt.ports.artifacts.write_text("_poison", f"{queue}/{msg.message_id}.reason", str(poison))
        return []
    if stage.handler is None:
        raise ValueError(f"stage {stage.name} has no handler")
    try:
        follow_ups: list[Envelope] = await stage.handler(envelope.payload, rt.ports, rt.workflow)
    except (UnreadableExport, GraphAccessDenied, ExtensionTypeConflict) as exc:
        logger.error("run %s stopped on %s: %s", envelope.payload.run_id, queue, type(exc).__name__)
        await rt.ports.artifacts.write_text(
            "_poison", f"{queue}/{msg.message_id}.reason", f"{type(exc).__name__}: {exc}"
        )
        run = await rt.ports.ledger.get_run(envelope.payload.run_id)
        if run is not None:
            await rt.ports.ledger.save_run(run.model_copy(update={"error": str(exc)}))
        return []
    await rt.ports.queue.send_all(follow_ups)
    return follow_ups
