"""import chunk: create the chunk's users in Entra, record each outcome in the ledger, report the chunk.

In: ImportChunk. Out: ChunkImported, or — when Graph throttles or fails for longer than the inline
retry budget — a continuation ImportChunk (new id `…:attempt-N`, scheduled after Retry-After).
When the run's profile maps groups, AssignGroups goes out instead and assign_groups reports the chunk.
Idempotent by (source, legacyId): users with a final outcome in the ledger are never sent again, so a
redelivered chunk sends nothing twice and a continuation re-sends only the users still open.
Checkpoint before emit: a `pending` intent (create_sent) is written before a create is sent; a later
conflict for a user whose create we ever sent means our own write committed (→ created, linked by an
identity lookup; see create_results), and each created user's sync baseline is recorded (shared.sync.baseline)
before the ledger says created. Then the created users' MFA methods (method_import: read back,
write the empty slots, per-method state in the ledger; open ones continue like throttled users).
A chunk of an abandoned run is dropped unread.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from shared.errors import RunNotFound
from shared.handlers.chunk_progress import ChunkProgress
from shared.handlers.create_results import bounded_gather, give_up, record_baselines, settle_all
from shared.handlers.jit_credentials import start_chunk_hashes, store_jit_credentials
from shared.handlers.method_import import import_methods
from shared.handlers.options import mapping_from_dict
from shared.handlers.workflow import Workflow
from shared.mapping import MappingOptions, MappingReject, map_user
from shared.messages import AssignGroups, ChunkImported, Envelope, ImportChunk, envelope_id
from shared.outcomes import FINAL_OUTCOMES, Outcome
from shared.ports import Ports
from shared.records import TargetUser

logger = logging.getLogger(__name__)


async def import_chunk(command: ImportChunk, ports: Ports, workflow: Workflow) -> list[Envelope]:
    run = await ports.ledger.get_run(command.run_id)
    if run is None:
        raise RunNotFound(f"run {command.run_id} is not in the ledger; was its export planned?")
    if run.abandoned_at is not None:
        logger.info("chunk %s belongs to abandoned run %s: dropped", command.chunk_id, command.run_id)
        return []
    entries = await ports.chunks.get(command.run_id, command.chunk_id)
    known = await ports.ledger.get_many(command.source, [e.user.legacy_id for e in entries])
    progress = ChunkProgress(command, entries, known, ports)

    mapping = mapping_from_dict(run.mapping)
    to_send = _users_to_send(progress, mapping)
    for target in to_send:  # checkpoint before emit: the intent is durable before any create leaves
        progress.mark_sending(target.legacy_id)
        if (previous := known.get(target.legacy_id)) is None or previous.outcome != Outcome.PENDING:
            progress.entry(target.legacy_id, Outcome.PENDING)
    with start_chunk_hashes(progress, to_send) as hashes:  # derived while the creates are in flight
        await progress.flush()
        results = await ports.directory.create_users(to_send) if to_send else []
        targets = {t.legacy_id: t for t in to_send}
        still_open = await settle_all(progress, targets, results)
        last_attempt = bool(still_open) and command.attempt + 1 >= workflow.max_attempts
        if last_attempt:
            await bounded_gather([give_up(progress, targets[r.legacy_id], r, workflow) for r in still_open])
        await store_jit_credentials(progress, targets, hashes)  # vault first: see jit_credentials
        await record_baselines(progress, targets, mapping)  # the sync's "unchanged since import", before the ledger
    await progress.flush()
    methods_open = await import_methods(progress, last_attempt=command.attempt + 1 >= workflow.max_attempts)
    await progress.flush()

    if (still_open or methods_open) and not last_attempt:
        waits = [r.retry_after for r in still_open if r.retry_after is not None] + [w for w in methods_open if w > 0]
        return [_continuation(command, len(still_open) + len(methods_open), waits, ports, workflow)]
    if mapping.groups.active:  # the chunk reports once its users have their groups (assign_groups)
        return [assign_groups_envelope(command, workflow)]
    return [await chunk_imported(progress, workflow)]


def _users_to_send(progress: ChunkProgress, mapping: MappingOptions) -> list[TargetUser]:
    """The users this attempt creates; stages outcomes for the ones that need no Graph call."""
    to_send: list[TargetUser] = []
    run_id = progress.command.run_id
    for legacy_id, item in progress.entries.items():
        previous = progress.known.get(legacy_id)
        if previous is not None and previous.outcome in FINAL_OUTCOMES and previous.run_id == run_id:
            continue  # settled by an earlier delivery of this chunk
        if previous is not None and previous.outcome in (Outcome.CREATED, Outcome.ALREADY_PRESENT):
            progress.entry(legacy_id, Outcome.ALREADY_PRESENT, object_id=previous.object_id)  # an earlier run made it
            continue
        target = map_user(item.user, mapping)
        if isinstance(target, MappingReject):  # planning rejects these; only a changed mapping gets here
            progress.entry(legacy_id, Outcome.FAILED, code=target.code, message=target.message)
            continue
        to_send.append(target)
    return to_send


def _continuation(
    command: ImportChunk, still_open: int, waits: list[float], ports: Ports, workflow: Workflow
) -> Envelope:
    delay = max(waits, default=2.0 ** min(command.attempt, 6))
    ports.telemetry.count("chunk_continuations", 1)
    logger.info("chunk %s: %d users still open, continuing in %.1fs", command.chunk_id, still_open, delay)
    nxt = command.model_copy(update={"attempt": command.attempt + 1})
    return Envelope(
        id=envelope_id(command.run_id, "import", command.chunk_id, nxt.attempt),
        queue=workflow.import_chunks_queue,
        not_before=ports.clock.now() + timedelta(seconds=delay),
        payload=nxt,
    )


def assign_groups_envelope(command: ImportChunk, workflow: Workflow) -> Envelope:
    return Envelope(
        id=envelope_id(command.run_id, "groups", command.chunk_id),
        queue=workflow.group_assignments_queue,
        payload=AssignGroups(run_id=command.run_id, source=command.source, chunk_id=command.chunk_id),
    )


async def chunk_imported(progress: ChunkProgress, workflow: Workflow) -> Envelope:
    """Count the chunk from the ledger, so every delivery of the last attempt reports the same figures."""
    command = progress.command
    final = await progress.ports.ledger.get_many(command.source, list(progress.entries))
    counts = {Outcome.CREATED: 0, Outcome.ALREADY_PRESENT: 0, Outcome.FAILED: 0}
    for legacy_id, item in progress.entries.items():
        entry = final.get(legacy_id)
        if entry is None or entry.outcome not in counts:
            raise RuntimeError(f"chunk {command.chunk_id}: user at line {item.line} has no outcome")
        counts[entry.outcome] += 1
    return Envelope(
        id=envelope_id(command.run_id, "imported", command.chunk_id),
        queue=workflow.run_events_queue,
        payload=ChunkImported(
            run_id=command.run_id,
            chunk_id=command.chunk_id,
            created=counts[Outcome.CREATED],
            already_present=counts[Outcome.ALREADY_PRESENT],
            failed=counts[Outcome.FAILED],
        ),
    )
