"""dispatch alert trigger (ALERTS_QUEUE): one notification per alert key and window, however often delivered."""

from __future__ import annotations

import azure.functions as func

from functions.stage import run_stage
from shared.stages import stage

STAGE = stage("dispatch_alert")
bp = func.Blueprint()


@bp.function_name(STAGE.name)
@bp.service_bus_queue_trigger(**STAGE.service_bus_trigger())
async def dispatch_alert(msg: func.ServiceBusMessage) -> None:
    """Records the alert for watch/report and posts it to ALERT_WEBHOOK_URL once; an AlertRaised only."""
    await run_stage(msg, STAGE)
