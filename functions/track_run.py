"""track run trigger: ExportPlanned / ChunkImported in; RunCompleted (and the report) out, exactly once."""

from __future__ import annotations

import azure.functions as func

from functions.stage import run_stage
from shared.bootstrap import azure_runtime
from shared.handlers.track_run import track_run as handle

bp = func.Blueprint()


@bp.function_name("track_run")
@bp.service_bus_queue_trigger(arg_name="msg", queue_name="%RUN_EVENTS_QUEUE%", connection="ServiceBusConnection")
async def track_run(msg: func.ServiceBusMessage) -> None:
    """Redelivered chunk results are counted once; RunCompleted on the same queue is a no-op."""
    queue = (await azure_runtime()).settings.RUN_EVENTS_QUEUE
    await run_stage(msg, queue, handle)
