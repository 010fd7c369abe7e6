"""accept export drop: a blob created in the export container becomes the PlanExport of a new run.

In: ExportDropped (Event Grid BlobCreated, read by shared/event_grid.py). Out: one PlanExport on the
export-plans queue, id `<run>:plan:export`, whose export_ref is the blob name. Only `<container>/exports/<source>/…`
blobs of a known source are drops: another container, a blob outside the prefix (chunks, reports) or an
unknown source raises PoisonMessage with a reason, so it is parked and never handed to the plan stage.
Idempotent: the run id is the blob version's digest, so a redelivered event re-sends the same PlanExport
(dropped by duplicate detection), and once the run is in the ledger (planning started) nothing is sent at all.
"""

from __future__ import annotations

import logging

from shared.errors import PoisonMessage
from shared.handlers.workflow import Workflow
from shared.messages import Envelope, ExportDropped, PlanExport, envelope_id
from shared.ports import Ports
from shared.sources import READERS

logger = logging.getLogger(__name__)


def drop_source(blob_name: str, prefix: str) -> str | None:
    """The `<source>` of `<prefix><source>/[…/]<file>`, or None when the blob is not laid out as a drop."""
    if not blob_name.startswith(prefix):
        return None
    source, _, rest = blob_name[len(prefix) :].partition("/")
    return source if source and rest and not rest.endswith("/") else None


async def accept_export_drop(drop: ExportDropped, ports: Ports, workflow: Workflow) -> list[Envelope]:
    if drop.container != workflow.blob_container:
        raise PoisonMessage("other_container", f"the blob is not in the export container {workflow.blob_container}")
    source = drop_source(drop.blob_name, workflow.export_drops_prefix)
    if source is None:
        raise PoisonMessage(
            "not_an_export", f"only {workflow.export_drops_prefix}<source>/<file> blobs are export drops"
        )
    if source not in READERS:
        raise PoisonMessage("unknown_source", f"no source {source[:40]!r}; sources: {', '.join(sorted(READERS))}")
    if await ports.ledger.get_run(drop.run_id) is not None:
        return []  # planned already: an event redelivered after the duplicate-detection window
    plan = PlanExport(run_id=drop.run_id, source=source, export_ref=drop.blob_name, chunk_size=workflow.chunk_size)
    ports.telemetry.count("export_drops", 1, source=source)
    logger.info("export drop %s (%d bytes) starts run %s", drop.event_id, drop.content_length, drop.run_id)
    return [Envelope(id=envelope_id(drop.run_id, "plan", "export"), queue=workflow.export_plans_queue, payload=plan)]
