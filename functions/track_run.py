"""track run trigger: ExportPlanned / ChunkImported in; RunCompleted (and the report) out, exactly once."""

from __future__ import annotations

import azure.functions as func

from functions.stage import run_stage
from shared.stages import stage

STAGE = stage("track_run")
bp = func.Blueprint()


@bp.function_name(STAGE.name)
@bp.service_bus_queue_trigger(**STAGE.service_bus_trigger())
async def track_run(msg: func.ServiceBusMessage) -> None:
    """Redelivered chunk results are counted once; RunCompleted on the same queue is a no-op."""
    await run_stage(msg, STAGE)
