"""plan export trigger: PlanExport in (an export blob was dropped); ImportChunk ×N and ExportPlanned out."""

from __future__ import annotations

import azure.functions as func

from functions.stage import run_stage
from shared.bootstrap import azure_runtime
from shared.handlers.plan_export import plan_export as handle

bp = func.Blueprint()


@bp.function_name("plan_export")
@bp.service_bus_queue_trigger(arg_name="msg", queue_name="%EXPORT_DROPS_QUEUE%", connection="ServiceBusConnection")
async def plan_export(msg: func.ServiceBusMessage) -> None:
    """Idempotent: a redelivery re-plans into the same chunk ids, and duplicate detection drops re-sends."""
    queue = (await azure_runtime()).settings.EXPORT_DROPS_QUEUE
    await run_stage(msg, queue, handle)
