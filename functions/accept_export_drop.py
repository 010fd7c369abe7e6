"""accept export drop trigger: an Event Grid BlobCreated event in (export-drops); a PlanExport out (export-plans)."""

from __future__ import annotations

import azure.functions as func

from functions.stage import run_stage
from shared.stages import stage

STAGE = stage("accept_export_drop")
bp = func.Blueprint()


@bp.function_name(STAGE.name)
@bp.service_bus_queue_trigger(**STAGE.service_bus_trigger())
async def accept_export_drop(msg: func.ServiceBusMessage) -> None:
    """Idempotent: Event Grid keeps the message id across redeliveries and the run id is the blob version's."""
    await run_stage(msg, STAGE)
