"""plan export: stream the export, map and preflight every record, write sealed chunks, emit ImportChunks.

Records are admitted by shared/planning/admission.py, the rule `ciam-migrate plan` applies too.
In: PlanExport; the export is a file (ExportStore), or a live directory the LegacyUsers port reads
(a B2C tenant named by its Graph URL). Out: one ImportChunk per chunk (deterministic ids `run:import:cNNNNNN`) and an
ExportPlanned for the tracker. Every input record ends in exactly one chunk or in rejects.jsonl.
The export is read once, admitting and chunking as it goes, while every custom attribute keeps one
dataType; an export that mixes them is planned again from the start, attribute types first over all of
it (shared/planning/attribute_types.py), then admitted and chunked (chunk ids from c000000 again, so the
first attempt's chunks are overwritten; ones past the final count are named by no ImportChunk).
Idempotent: a redelivery re-plans from the start and overwrites the same chunks and rejects file.
An unreadable export raises UnreadableExport before any ImportChunk is emitted.
With `wave`, only the users the ledger's wave plan places in that wave are admitted; the others are
counted as `other_wave` (neither chunked nor rejected). Records the reader cannot read belong to wave 1.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from shared.handlers.options import resolve_options
from shared.handlers.workflow import Workflow
from shared.mapping import MappingOptions, extension_properties_for
from shared.messages import Envelope, ExportPlanned, ImportChunk, PlanExport, envelope_id
from shared.outcomes import RunState
from shared.planning.admission import Admission
from shared.planning.attribute_types import AttributeTypes, MixedAttributeTypes
from shared.ports import Ports
from shared.records import RejectedRecord, SourceRecord
from shared.sources import SourceItem, SourceOptions, UnmappedFeatures, get_reader
from shared.waves import WavePlan, WaveRuleError

logger = logging.getLogger(__name__)


async def _each(items: Iterator[SourceItem]) -> AsyncIterator[SourceItem]:
    for item in items:
        yield item


def chunk_id_for(index: int) -> str:
    return f"c{index:06d}"


async def _wave_plan(command: PlanExport, ports: Ports) -> WavePlan | None:
    if command.wave is None:
        return None
    plan = await ports.ledger.get_wave_plan()
    if plan is None:
        raise WaveRuleError(f"run {command.run_id}: --wave {command.wave} but the ledger holds no wave plan")
    plan.wave(command.wave)  # raises when the plan has no such wave
    return plan


def _in_wave(item: SourceItem, plan: WavePlan | None, wave: int | None) -> bool:
    if plan is None or wave is None:
        return True
    if isinstance(item, RejectedRecord):  # unreadable: no fields to place it by
        return wave == 1
    return plan.wave_of(item.user) == wave


@dataclass
class _Planned:
    mapping: MappingOptions  # with every attribute's dataType
    rejects: list[RejectedRecord] = field(default_factory=list)
    examples: dict[str, Any] = field(default_factory=dict)  # one value per attribute name admitted
    reset_fallbacks: Counter[str] = field(default_factory=Counter)  # admitted users reset though they bring one
    chunks: list[str] = field(default_factory=list)
    total: int = 0
    other_wave: int = 0


Items = Callable[[AsyncExitStack, SourceOptions], Awaitable[AsyncIterator[SourceItem]]]


async def _admit_and_chunk(
    command: PlanExport,
    ports: Ports,
    items: Items,
    source_options: SourceOptions,
    mapping: MappingOptions,
    wave_plan: WavePlan | None,
    *,
    typed: bool,
) -> _Planned:
    """One read: admit every record, write the chunks. `typed`: `mapping` holds every attribute's type;
    else the types are tallied as records come (raises MixedAttributeTypes, see attribute_types)."""
    tally = None if typed else AttributeTypes(mapping, provisional=True)
    admission = Admission(mapping, deterministic=True)
    planned = _Planned(mapping)
    rejects, examples, chunk_ids = planned.rejects, planned.examples, planned.chunks
    chunk: list[SourceRecord] = []

    async def flush() -> None:
        chunk_id = chunk_id_for(len(chunk_ids))
        await ports.chunks.put(command.run_id, chunk_id, chunk)
        chunk_ids.append(chunk_id)
        chunk.clear()

    async with AsyncExitStack() as stack:
        async for item in await items(stack, source_options):
            if tally is not None and isinstance(item, SourceRecord):
                tally.observe(item.user.attributes)  # every record's, other waves' too, as a types pass would
            if not _in_wave(item, wave_plan, command.wave):
                planned.other_wave += 1
                continue
            planned.total += 1
            if isinstance(item, RejectedRecord):
                rejects.append(item)
                continue
            verdict = admission.verdict(item)
            if isinstance(verdict, RejectedRecord):
                rejects.append(verdict)
                continue
            if verdict.reset_because:
                planned.reset_fallbacks[str(verdict.reset_because)] += 1
            for name, value in item.user.attributes.items():
                examples.setdefault(name, value)
            chunk.append(item)
            if len(chunk) >= command.chunk_size:
                await flush()
    if chunk:
        await flush()
    if tally is not None:
        planned.mapping = tally.options_with_types()
    return planned


async def plan_export(command: PlanExport, ports: Ports, workflow: Workflow) -> list[Envelope]:
    run_id = command.run_id
    source_options, mapping = resolve_options(command.source, command.mapping_ref, workflow)
    wave_plan = await _wave_plan(command, ports)
    run = await ports.ledger.get_run(run_id) or RunState(
        run_id=run_id, source=command.source, export_ref=command.export_ref, started_at=ports.clock.now(),
        wave=command.wave,
    )  # fmt: skip
    run = run.model_copy(update={"mapping": mapping})
    await ports.ledger.save_run(run)

    reader = get_reader(command.source)

    async def _items(stack: AsyncExitStack, options: SourceOptions) -> AsyncIterator[SourceItem]:
        live = ports.legacy_users
        if live is not None and live.reads(command.source, command.export_ref):
            return live.users(command.export_ref, options)  # read inside this handler's event loop
        path = await stack.enter_async_context(ports.exports.open_local(command.export_ref))
        return _each(reader(path, options))

    try:
        planned = await _admit_and_chunk(command, ports, _items, source_options, mapping, wave_plan, typed=False)
    except MixedAttributeTypes:
        # Attribute types over the whole export first (never the first record's), the rule `plan` applies.
        types = AttributeTypes(mapping)
        async with AsyncExitStack() as stack:
            async for item in await _items(stack, dataclasses.replace(source_options, unmapped=UnmappedFeatures())):
                if isinstance(item, SourceRecord):
                    types.observe(item.user.attributes)
        planned = await _admit_and_chunk(
            command, ports, _items, source_options, types.options_with_types(), wave_plan, typed=True
        )
    mapping, rejects, attribute_examples, chunk_ids = planned.mapping, planned.rejects, planned.examples, planned.chunks
    total, other_wave = planned.total, planned.other_wave
    run = run.model_copy(update={"mapping": mapping})
    await ports.ledger.save_run(run)

    await ports.directory.ensure_extension_properties(extension_properties_for(attribute_examples, mapping))
    await ports.artifacts.write_text(run_id, "rejects.jsonl", "".join(r.model_dump_json() + "\n" for r in rejects))
    run = run.model_copy(
        update={
            "total": total,
            "rejected": len(rejects),
            "reject_reasons": dict(Counter(str(r.code) for r in rejects)),
            "reset_fallbacks": dict(planned.reset_fallbacks),
            "chunks": len(chunk_ids),
            "planned_at": ports.clock.now(),
            "other_wave": other_wave,
        }
    )
    await ports.ledger.save_run(run)
    wave = {} if command.wave is None else {"wave": command.wave}
    ports.telemetry.count("records_planned", total, source=command.source, **wave)
    ports.telemetry.count("records_rejected", len(rejects), source=command.source, **wave)
    logger.info("planned run %s: %d records, %d rejected, %d chunks, %d in other waves", run_id, total, len(rejects),
                len(chunk_ids), other_wave)  # fmt: skip

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
