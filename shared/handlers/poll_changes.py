"""poll changes (timer): read a legacy change feed from the stored cursor, send one LegacyChange per hint.

Out: LegacyChange messages on the session-enabled `legacy-changes` queue — session id (source, legacyId), id
`sync-<source>:change:<change id>` (deterministic: a re-sent hint is dropped by duplicate detection). The
cursor advances only after its page's messages are sent, so a crash in between re-sends, never skips.
R13: a lease in the sync store lets one poll per source run at a time (a tick that finds it held does
nothing); each poll reads from the stored cursor, so the next one covers any gap of missed or skipped ticks.
Health: a cursor that has not reached the feed's head for half the source's retention warns; at the full
retention (or CursorExpired from the feed) the cursor is frozen until a snapshot diff has run.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.handlers.apply_change import session_for
from shared.messages import Envelope, LegacyChange, envelope_id
from shared.sync.feed import ChangeFeed, ChangeHint, CursorExpired, FeedPage
from shared.sync.model import CursorState
from shared.sync.policy import sync_run_id
from shared.sync.ports import SyncPorts

logger = logging.getLogger(__name__)

MAX_PAGES = 200  # per poll; the next tick goes on from the stored cursor
REJECTS_FILE = "rejects.jsonl"


@dataclass
class PollResult:
    source: str
    ran: bool = True  # False: another poll held the lease (R13)
    emitted: int = 0
    rejected: int = 0
    pages: int = 0
    snapshot_emitted: int | None = None  # set when a snapshot diff ran
    blocked: str | None = None  # why the cursor may not move on
    warnings: list[str] = field(default_factory=list)


def change_envelopes(source: str, hints: Sequence[ChangeHint], queue: str) -> list[Envelope]:
    run_id = sync_run_id(source)
    unique = {h.change_id: h for h in hints}
    return [
        Envelope(
            id=envelope_id(run_id, "change", h.change_id), queue=queue, session_id=session_for(source, h.legacy_id),
            payload=LegacyChange(run_id=run_id, source=source, legacy_id=h.legacy_id, change_id=h.change_id,
                                 op=h.op, seq=h.seq),
        )
        for h in unique.values()
    ]  # fmt: skip


def health(state: CursorState, now: datetime) -> tuple[str, float | None]:
    """("ok" | "warn" | "expired", seconds of retention left). The age runs from the last poll at the head."""
    if state.needs_snapshot:
        return "expired", 0.0
    if state.retention_s is None or state.last_success_at is None:
        return "ok", None
    age = (now - state.last_success_at).total_seconds()
    left = state.retention_s - age
    if left <= 0:
        return "expired", 0.0
    return ("warn" if age >= state.retention_s / 2 else "ok"), left


async def poll_changes(
    source: str, feed: ChangeFeed, sync: SyncPorts, *, holder: str, snapshot: ChangeFeed | None = None,
    lease_s: float | None = None, max_pages: int = MAX_PAGES,
) -> PollResult:  # fmt: skip
    store, clock = sync.store, sync.ports.clock
    now = clock.now()
    lease = timedelta(seconds=lease_s if lease_s is not None else sync.policy.poll_lease_s)
    if not await store.begin_poll(source, holder, now, now + lease):
        logger.info("poll of %s skipped: the previous poll is still running", source)
        return PollResult(source, ran=False)
    result = PollResult(source)
    try:
        retention = feed.retention.total_seconds() if feed.retention is not None else None
        state = await store.get_cursor(source) or CursorState(source=source)
        state = state.model_copy(update={"retention_s": retention, "last_poll_at": now})
        verdict, _ = health(state, now)
        if verdict == "expired" and not state.needs_snapshot:
            state = state.model_copy(update={"needs_snapshot": True})
            logger.warning("%s: the cursor is older than the feed's retention; a snapshot diff must run", source)
        if state.needs_snapshot:
            if snapshot is None:
                result.blocked = "the cursor outlived the feed's retention: run a snapshot diff (sync --snapshot)"
                await store.put_cursor(state.model_copy(update={"last_error": result.blocked}))
                return result
            state = await _snapshot(source, snapshot, sync, state, result)
        elif verdict == "warn":
            result.warnings.append(f"{source}: the cursor is past half the feed's retention; poll more often")
        for _ in range(max_pages):
            try:
                page = await feed.read(state.cursor)
            except CursorExpired:
                state = state.model_copy(update={"needs_snapshot": True})
                result.blocked = "the feed no longer holds the cursor's position: run a snapshot diff"
                if snapshot is None:
                    await store.put_cursor(state.model_copy(update={"last_error": result.blocked}))
                    return result
                result.blocked = None
                state = await _snapshot(source, snapshot, sync, state, result)
                continue
            state = await _emit(source, page, sync, state, result)
            await store.begin_poll(source, holder, clock.now(), clock.now() + lease)  # renew the lease
            if not page.more:
                state = state.model_copy(update={"last_success_at": now, "last_error": None})
                break
        await store.put_cursor(state)
        return result
    finally:
        await store.end_poll(source, holder)


async def _emit(source: str, page: FeedPage, sync: SyncPorts, state: CursorState, result: PollResult) -> CursorState:
    """Send the page's hints, report its rejects, then (checkpoint) store the cursor that follows them."""
    envelopes = change_envelopes(source, page.hints, sync.policy.legacy_changes_queue)
    if envelopes:
        await sync.ports.queue.send_all(envelopes)
    if page.rejects:
        lines = [r.model_dump_json() for r in page.rejects]
        await sync.ports.artifacts.append_lines(sync_run_id(source), REJECTS_FILE, lines)
        await sync.store.bump(source, {"feed_rejects": len(page.rejects)})
    result.emitted += len(envelopes)
    result.rejected += len(page.rejects)
    result.pages += 1
    now = sync.ports.clock.now()
    moved = page.cursor != state.cursor
    state = state.model_copy(update={
        "cursor": page.cursor, "emitted": state.emitted + len(envelopes),
        "cursor_moved_at": now if moved else state.cursor_moved_at,
        "position_at": page.newest_at or state.position_at,
        "oldest_available": page.oldest_available or state.oldest_available,
    })  # fmt: skip
    await sync.store.put_cursor(state)
    return state


async def _snapshot(
    source: str, snapshot: ChangeFeed, sync: SyncPorts, state: CursorState, result: PollResult
) -> CursorState:
    """Diff a fresh export, send its hints, then let the feed start over from its oldest entry."""
    page = await snapshot.read(None)
    envelopes = change_envelopes(source, page.hints, sync.policy.legacy_changes_queue)
    if envelopes:
        await sync.ports.queue.send_all(envelopes)
    result.snapshot_emitted = len(envelopes)
    result.emitted += len(envelopes)
    now = sync.ports.clock.now()
    state = state.model_copy(update={
        "cursor": None, "needs_snapshot": False, "last_snapshot_at": now, "last_success_at": now,
        "emitted": state.emitted + len(envelopes), "last_error": None,
    })  # fmt: skip
    await sync.store.put_cursor(state)
    logger.info("%s: snapshot diff sent %d changes; the feed restarts from its oldest entry", source, len(envelopes))
    return state
