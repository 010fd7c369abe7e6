"""poll changes trigger (timer, SYNC_SCHEDULE): read the legacy feed from the stored cursor, send LegacyChanges.

Timer triggers run as a singleton and missed runs are not replayed: each run reads from the stored cursor, so
it covers the gap; a lease in the sync store keeps a slow run and the next from overlapping (R13).
"""

from __future__ import annotations

import azure.functions as func

from shared.bootstrap import azure_runtime
from shared.stages import stage

STAGE = stage("poll_changes")
bp = func.Blueprint()


@bp.function_name(STAGE.name)
@bp.timer_trigger(**STAGE.timer_trigger())
async def poll_changes(timer: func.TimerRequest) -> None:
    rt = await azure_runtime()
    if STAGE.handler is None:
        raise ValueError("poll_changes has no handler")
    await rt.ports.queue.send_all(await STAGE.handler(rt.ports, rt.workflow))
