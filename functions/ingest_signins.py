"""ingest sign-ins trigger (timer, SIGNIN_INGEST_SCHEDULE): count new sign-in log records once, emit metrics.

Timer triggers run as a singleton and missed runs are not replayed: each run reads from the stored cursor, so
it covers the gap (R14); the reporting limiter keeps a run under 5 requests / 10 s (R15).
"""

from __future__ import annotations

import azure.functions as func

from shared.bootstrap import azure_runtime
from shared.stages import stage

STAGE = stage("ingest_signins")
bp = func.Blueprint()


@bp.function_name(STAGE.name)
@bp.timer_trigger(**STAGE.timer_trigger())
async def ingest_signins(timer: func.TimerRequest) -> None:
    rt = await azure_runtime()
    if STAGE.handler is None:
        raise ValueError("ingest_signins has no handler")
    await rt.ports.queue.send_all(await STAGE.handler(rt.ports, rt.workflow))
