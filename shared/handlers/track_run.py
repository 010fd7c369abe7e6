"""track run: count chunk results; when every planned chunk has reported, write the report and finish.

In: ExportPlanned or ChunkImported. Out: RunCompleted exactly once per run (deterministic id), when
the run becomes complete. Redelivered results are counted once (Ledger.record_chunk is idempotent).
"""

from __future__ import annotations

import logging

from shared.errors import RunNotFound
from shared.handlers.report import write_report
from shared.handlers.workflow import Workflow
from shared.messages import ChunkImported, Envelope, ExportPlanned, RunCompleted, envelope_id
from shared.ports import Ports

logger = logging.getLogger(__name__)


async def track_run(
    event: ExportPlanned | ChunkImported | RunCompleted, ports: Ports, workflow: Workflow
) -> list[Envelope]:
    if isinstance(event, RunCompleted):
        return []  # the run's own completion notice shares the queue; nothing to track
    if isinstance(event, ChunkImported):
        run = await ports.ledger.record_chunk(event)
    else:
        found = await ports.ledger.get_run(event.run_id)
        if found is None:
            raise RunNotFound(f"run {event.run_id} is not in the ledger")
        run = found
    if not run.complete or run.finished_at is not None:
        return []
    run = run.model_copy(update={"finished_at": ports.clock.now()})
    await write_report(run, ports, workflow)
    await ports.ledger.save_run(run)
    ports.telemetry.count("runs_completed", 1, **({} if run.wave is None else {"wave": run.wave}))
    logger.info("run %s complete: %d created, %d already present, %d failed", run.run_id, run.created,
                run.already_present, run.failed)  # fmt: skip
    return [
        Envelope(
            id=envelope_id(run.run_id, "completed", "run"),
            queue=workflow.run_events_queue,
            payload=RunCompleted(run_id=run.run_id),
        )
    ]
