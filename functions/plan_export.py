"""plan export trigger: PlanExport in (an export blob was dropped); ImportChunk ×N and ExportPlanned out."""

from __future__ import annotations

import azure.functions as func

from functions.stage import run_stage
from shared.stages import stage

STAGE = stage("plan_export")
bp = func.Blueprint()


@bp.function_name(STAGE.name)
@bp.service_bus_queue_trigger(**STAGE.service_bus_trigger())
async def plan_export(msg: func.ServiceBusMessage) -> None:
    """Idempotent: a redelivery re-plans into the same chunk ids, and duplicate detection drops re-sends."""
    await run_stage(msg, STAGE)
