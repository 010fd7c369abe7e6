"""assign groups trigger: AssignGroups in; ChunkImported or a scheduled continuation out."""

from __future__ import annotations

import azure.functions as func

from functions.stage import run_stage
from shared.stages import stage

STAGE = stage("assign_groups")
bp = func.Blueprint()


@bp.function_name(STAGE.name)
@bp.service_bus_queue_trigger(**STAGE.service_bus_trigger())
async def assign_groups(msg: func.ServiceBusMessage) -> None:
    """Memberships and app roles are set elements in Entra: a redelivery re-sends and lands nowhere twice."""
    await run_stage(msg, STAGE)
