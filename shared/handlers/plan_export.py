"""plan export: stream the export, map and preflight every record, write sealed chunks, emit ImportChunks.

Records are admitted by shared/planning/admission.py, the rule `ciam-migrate plan` applies too.
In: PlanExport; the export is a file (ExportStore), or a live directory the LegacyUsers port reads
(a B2C tenant named by its Graph URL). Out: one ImportChunk per chunk (deterministic ids `run:import:cNNNNNN`) and an
ExportPlanned for the tracker. Every input record ends in exactly one chunk or in rejects.jsonl.
The export is read twice: first for the attribute types over all of it (shared/planning/attribute_types.py),
then to admit and chunk. Idempotent: a redelivery re-plans from the start and overwrites the same chunks
and rejects file.
An unreadable export raises UnreadableExport before any ImportChunk is emitted.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from typing import Any

from shared.handlers.options import resolve_options
from shared.handlers.workflow import Workflow
from shared.mapping import extension_properties_for
from shared.messages import Envelope, ExportPlanned, ImportChunk, PlanExport, envelope_id
from shared.outcomes import RunState
from shared.planning.admission import Admission
from shared.planning.attribute_types import AttributeTypes
from shared.ports import Ports
from shared.records import RejectedRecord, SourceRecord
from shared.sources import SourceItem, SourceOptions, UnmappedFeatures, get_reader

logger = logging.getLogger(__name__)


def _planning_password() -> str:
    # Planning only validates; the real random password is made at import. Generating one per record
    # would double planning time.
    return "Planning-only-0"


async def _each(items: Iterator[SourceItem]) -> AsyncIterator[SourceItem]:
    for item in items:
        yield item


def chunk_id_for(index: int) -> str:
    return f"c{index:06d}"


async def plan_export(command: PlanExport, ports: Ports, workflow: Workflow) -> list[Envelope]:
    run_id = command.run_id
    source_options, mapping = resolve_options(command.source, command.mapping_ref, workflow)
    run = await ports.ledger.get_run(run_id) or RunState(
        run_id=run_id, source=command.source, export_ref=command.export_ref, started_at=ports.clock.now()
    )
    run = run.model_copy(update={"mapping": mapping})
    await ports.ledger.save_run(run)

    reader = get_reader(command.source)

    async def _items(stack: AsyncExitStack, options: SourceOptions) -> AsyncIterator[SourceItem]:
        live = ports.legacy_users
        if live is not None and live.reads(command.source, command.export_ref):
            return live.users(command.export_ref, options)  # read inside this handler's event loop
        path = await stack.enter_async_context(ports.exports.open_local(command.export_ref))
        return _each(reader(path, options))

    # Attribute types over the whole export first (never the first record's), the rule `plan` applies.
    types = AttributeTypes(mapping)
    async with AsyncExitStack() as stack:
        async for item in await _items(stack, dataclasses.replace(source_options, unmapped=UnmappedFeatures())):
            if isinstance(item, SourceRecord):
                types.observe(item.user.attributes)
    mapping = types.options_with_types()
    run = run.model_copy(update={"mapping": mapping})
    await ports.ledger.save_run(run)
    admission = Admission(mapping, deterministic=True)
    rejects: list[RejectedRecord] = []
    attribute_examples: dict[str, Any] = {}
    chunk: list[SourceRecord] = []
    chunk_ids: list[str] = []
    total = 0

    async def flush() -> None:
        chunk_id = chunk_id_for(len(chunk_ids))
        await ports.chunks.put(run_id, chunk_id, chunk)
        chunk_ids.append(chunk_id)
        chunk.clear()

    async with AsyncExitStack() as stack:
        async for item in await _items(stack, source_options):
            total += 1
            if isinstance(item, RejectedRecord):
                rejects.append(item)
                continue
            verdict = admission.admit(item, random_password=_planning_password)
            if isinstance(verdict, RejectedRecord):
                rejects.append(verdict)
                continue
            for name, value in item.user.attributes.items():
                attribute_examples.setdefault(name, value)
            chunk.append(item)
            if len(chunk) >= command.chunk_size:
                await flush()
    if chunk:
        await flush()

    await ports.directory.ensure_extension_properties(extension_properties_for(attribute_examples, mapping))
    await ports.artifacts.write_text(run_id, "rejects.jsonl", "".join(r.model_dump_json() + "\n" for r in rejects))
    run = run.model_copy(
        update={
            "total": total,
            "rejected": len(rejects),
            "reject_reasons": dict(Counter(str(r.code) for r in rejects)),
            "chunks": len(chunk_ids),
            "planned_at": ports.clock.now(),
        }
    )
    await ports.ledger.save_run(run)
    ports.telemetry.count("records_planned", total, source=command.source)
    ports.telemetry.count("records_rejected", len(rejects), source=command.source)
    logger.info("planned run %s: %d records, %d rejected, %d chunks", run_id, total, len(rejects), len(chunk_ids))

    follow: list[Envelope] = [
        Envelope(
            id=envelope_id(run_id, "import", chunk_id),
            queue=workflow.import_chunks_queue,
            payload=ImportChunk(run_id=run_id, source=command.source, chunk_id=chunk_id),
        )
        for chunk_id in chunk_ids
    ]
    follow.append(
        Envelope(
            id=envelope_id(run_id, "planned", "export"),
            queue=workflow.run_events_queue,
            payload=ExportPlanned(run_id=run_id, total=total, rejected=len(rejects), chunks=len(chunk_ids)),
        )
    )
    return follow
