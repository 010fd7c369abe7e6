"""The decommission checklist's sync item over a real sync store: drained, stopped, or which of the two fails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from shared.adapters.local.ledger import SqliteLedger
from shared.decommission import DecommissionState, run_checklist
from shared.sync.model import CursorState
from shared.sync.sqlite_store import SqliteSyncStore, poll_holder

NOW = datetime.now(UTC)


async def _sync_item(tmp: Path, store: SqliteSyncStore, queued: int = 0) -> tuple[bool, str]:
    ledger = SqliteLedger(tmp / "migration.db")
    try:
        state = DecommissionState(state=tmp, ledger=ledger, open_messages={"legacy-changes": queued} if queued else {},
                                  changes_queue="legacy-changes", now=NOW, refresh_token_days=90, poll_interval_s=60,
                                  archive=tmp / "a.zip", sync=store)  # fmt: skip
        item = next(r for r in await run_checklist(state) if r.name == "sync drained and stopped")
        return item.holds, item.evidence
    finally:
        ledger.close()


async def test_sync_item_holds_only_when_the_last_poll_reached_the_end_and_nobody_polls(tmp_path: Path) -> None:
    store = SqliteSyncStore(tmp_path / "sync.db")
    old = NOW - timedelta(hours=2)
    await store.put_cursor(CursorState(source="auth0", cursor="c1", last_poll_at=old, last_success_at=old))
    holds, evidence = await _sync_item(tmp_path, store)
    assert holds, evidence

    holds, evidence = await _sync_item(tmp_path, store, queued=3)
    assert not holds and "3 legacy changes still queued" in evidence

    await store.put_cursor(CursorState(source="auth0", cursor="c2", last_poll_at=old,
                                       last_success_at=old - timedelta(minutes=5)))  # fmt: skip
    holds, evidence = await _sync_item(tmp_path, store)
    assert not holds and "not drained" in evidence

    await store.put_cursor(CursorState(source="auth0", cursor="c3", last_poll_at=NOW - timedelta(seconds=30),
                                       last_success_at=NOW - timedelta(seconds=30)))  # fmt: skip
    holds, evidence = await _sync_item(tmp_path, store)
    assert not holds and "still scheduled" in evidence

    await store.put_cursor(CursorState(source="auth0", cursor="c4", last_poll_at=old, last_success_at=old))
    assert await store.begin_poll("auth0", poll_holder(), NOW, NOW + timedelta(minutes=2))
    holds, evidence = await _sync_item(tmp_path, store)
    assert not holds and "a poll is running now" in evidence
    store.close()
