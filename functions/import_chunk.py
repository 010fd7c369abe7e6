"""import chunk trigger: ImportChunk in; ChunkImported or a scheduled continuation out."""

from __future__ import annotations

import azure.functions as func

from functions.stage import run_stage
from shared.bootstrap import azure_runtime
from shared.handlers.import_chunk import import_chunk as handle

bp = func.Blueprint()


@bp.function_name("import_chunk")
@bp.service_bus_queue_trigger(arg_name="msg", queue_name="%IMPORT_CHUNKS_QUEUE%", connection="ServiceBusConnection")
async def import_chunk(msg: func.ServiceBusMessage) -> None:
    """Idempotent by (source, legacyId). Throttling schedules a continuation instead of raising."""
    queue = (await azure_runtime()).settings.IMPORT_CHUNKS_QUEUE
    await run_stage(msg, queue, handle)
