"""import chunk trigger: ImportChunk in; ChunkImported or a scheduled continuation out."""

from __future__ import annotations

import azure.functions as func

from functions.stage import run_stage
from shared.stages import stage

STAGE = stage("import_chunk")
bp = func.Blueprint()


@bp.function_name(STAGE.name)
@bp.service_bus_queue_trigger(**STAGE.service_bus_trigger())
async def import_chunk(msg: func.ServiceBusMessage) -> None:
    """Idempotent by (source, legacyId). Throttling schedules a continuation instead of raising."""
    await run_stage(msg, STAGE)
