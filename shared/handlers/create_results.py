"""What one create answer means for the ledger: created, ours after a conflict, failed, or still open.

A user whose create we ever sent is ours until proven otherwise: a conflict for it resolves to created
(linked by an identity lookup), and so does a user Graph can show us at give-up time. Only a conflict
on a user we never sent before (and whose answer was not ambiguous) is someone else's: already_present.
Every user settled as created gets the coexistence sync's baseline (`record_baselines`, shared.sync.baseline).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from typing import TypeVar

from shared.handlers.chunk_progress import ChunkProgress
from shared.handlers.workflow import Workflow
from shared.mapping import MappingOptions
from shared.outcomes import Outcome
from shared.ports import CreateResult, Directory, WrittenUser
from shared.reasons import Reason
from shared.records import TargetUser

logger = logging.getLogger(__name__)

LOOKUP_ATTEMPTS = 3
LOOKUP_DELAY_S = 0.2
LOOKUP_CONCURRENCY = 8  # identity lookups in flight per chunk: a conflict-heavy chunk doesn't settle one by one
T = TypeVar("T")


async def bounded_gather(calls: Sequence[Awaitable[T]], limit: int = LOOKUP_CONCURRENCY) -> list[T]:
    """Await every call, at most `limit` at a time; results in order."""
    gate = asyncio.Semaphore(limit)

    async def one(call: Awaitable[T]) -> T:
        async with gate:
            return await call

    return list(await asyncio.gather(*(one(c) for c in calls)))


async def settle_all(
    progress: ChunkProgress, targets: dict[str, TargetUser], results: Sequence[CreateResult]
) -> list[CreateResult]:
    """Settle every result (lookups run concurrently); the results whose users stay open."""
    settled = await bounded_gather([settle(progress, targets[r.legacy_id], r) for r in results])
    return [r for r, done in zip(results, settled, strict=True) if not done]


async def settle(progress: ChunkProgress, target: TargetUser, result: CreateResult) -> bool:
    """Stage a final outcome for one create result. False when the user stays open for a continuation."""
    legacy_id = result.legacy_id
    directory = progress.ports.directory
    if result.status == "created":
        object_id = result.object_id or await lookup(directory, target)
        if object_id is None:
            return False  # created, but Graph didn't say as whom: the next attempt's conflict links it
        progress.entry(legacy_id, Outcome.CREATED, object_id=object_id)
        progress.ports.telemetry.count("users_created", 1)
        return True
    if result.status == "rejected":
        code = result.error_code or Reason.GRAPH_REJECTED
        progress.entry(legacy_id, Outcome.FAILED, code=code, message=result.message)
        progress.ports.telemetry.count("users_failed", 1, code=result.error_code or "unknown")
        return True
    if result.status == "conflict":
        object_id = await lookup(directory, target)
        if object_id is None:
            return False  # read-after-write lag: look again in the continuation
        ours = progress.sent_before(legacy_id) or result.ambiguous_retry
        progress.entry(legacy_id, Outcome.CREATED if ours else Outcome.ALREADY_PRESENT, object_id=object_id)
        if ours:
            progress.ports.telemetry.count("users_created", 1)
        return True
    return False  # throttled or transient: the ledger keeps `pending` (the create was sent)


async def give_up(progress: ChunkProgress, target: TargetUser, result: CreateResult, workflow: Workflow) -> None:
    """The last attempt: a user Graph can show us was created by one of our sends; anyone else failed."""
    object_id = await lookup(progress.ports.directory, target, attempts=1)
    if object_id is not None:
        progress.entry(result.legacy_id, Outcome.CREATED, object_id=object_id)
        progress.ports.telemetry.count("users_created", 1)
        return
    unavailable = result.status in ("throttled", "transient", "created")
    progress.entry(
        result.legacy_id,
        Outcome.FAILED,
        code=Reason.GRAPH_UNAVAILABLE if unavailable else Reason.CONFLICT_UNRESOLVED,
        message=f"{result.error_code or result.status}: gave up after {workflow.max_attempts} attempts",
    )


async def record_baselines(progress: ChunkProgress, targets: dict[str, TargetUser], mapping: MappingOptions) -> None:
    """The sync's fingerprint of what was written, for every user this attempt staged as created. Called before the
    ledger is written: should it fail, the users stay open and their redo (a conflict linked as ours) records it."""
    if progress.ports.baselines is None:
        return
    written = [
        WrittenUser(progress.entries[legacy_id].user, targets[legacy_id], entry.object_id)
        for legacy_id, entry in progress.updates.items()
        if entry.outcome == Outcome.CREATED and entry.object_id is not None and legacy_id in targets
    ]
    await progress.ports.baselines.record(progress.command.source, mapping, written, progress.ports.clock.now())


async def lookup(directory: Directory, target: TargetUser, *, attempts: int = LOOKUP_ATTEMPTS) -> str | None:
    """The user's object id by their primary identity; None while Graph can't say yet (lag or errors)."""
    for attempt in range(attempts):
        try:
            object_id = await directory.find_user_by_identity(target.primary_identity)
        except Exception as exc:  # the directory already retried; keep the user open for a continuation
            logger.warning("identity lookup failed (%s); the user stays open", type(exc).__name__)
            return None
        if object_id is not None:
            return object_id
        if attempt + 1 < attempts:
            await asyncio.sleep(LOOKUP_DELAY_S * (attempt + 1))
    return None
