"""apply change trigger (session-enabled legacy-changes): one user's changes in order; a continuation out."""

from __future__ import annotations

import azure.functions as func

from functions.stage import run_stage
from shared.stages import stage

STAGE = stage("apply_change")
bp = func.Blueprint()


@bp.function_name(STAGE.name)
@bp.service_bus_queue_trigger(**STAGE.service_bus_trigger())
async def apply_change(msg: func.ServiceBusMessage) -> None:
    """Re-reads the user's legacy state and applies it: idempotent, order-proof (a stale state is skipped)."""
    await run_stage(msg, STAGE)
