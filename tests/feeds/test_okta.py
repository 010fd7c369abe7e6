"""Okta System Log feed against the Okta emulator: next links, out-of-order persistence, uuid dedupe, limits."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from emulator.legacy import Change
from shared.sources import read_okta
from shared.sync.feed import CursorExpired
from shared.sync.feeds.records import reader_options
from tests.feeds.conftest import drain, live


def mixed_changes(emulator, n: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    ids = [u["id"] for u in emulator.users()]
    for i in range(n):
        if not ids or rng.random() < 0.2:
            ids += emulator.apply_all(
                [
                    Change(
                        "create",
                        fields={
                            "login": f"n{i}@example.com",
                            "email": f"n{i}@example.com",
                            "firstName": "N",
                            "lastName": f"L{i}",
                        },
                    )
                ]
            )
        elif rng.random() < 0.05 and len(ids) > 3:
            emulator.apply_all([Change("delete", id=ids.pop(rng.randrange(len(ids))))])
        else:
            op = rng.choice(("update", "disable", "enable", "password"))
            fields = {"firstName": f"F{i}"} if op == "update" else {}
            emulator.apply_all([Change(op, id=rng.choice(ids), fields=fields, via=rng.choice(("admin", "user")))])


def user_event_uuids(emulator) -> set[str]:
    from shared.sync.feeds.okta import USER_EVENT_TYPES

    return {e[2]["uuid"] for e in emulator.events if e[2]["eventType"] in USER_EVENT_TYPES}


async def test_follows_next_links_out_of_published_order(legacy):
    handle = legacy("okta", late_rate=0.3)
    emulator = handle.emulator
    emulator.seed_sample()
    mixed_changes(emulator, 300)
    emulator.flush()
    start = datetime.now(UTC) - timedelta(hours=1)
    feed = live("okta", handle, start_at=start, okta_page_limit=100)
    hints, cursor, _reads = await drain(feed, None)
    assert {h.change_id for h in hints} == user_event_uuids(emulator)
    assert len(hints) == len({h.change_id for h in hints})  # each event once
    published = [h.occurred_at for h in hints]
    assert published != sorted(published)  # persistence order ≠ published order, and nothing was lost to it
    assert feed.http.requests >= 4

    # Resume from the stored next link: only the newer events.
    before = user_event_uuids(emulator)
    mixed_changes(emulator, 20, seed=3)
    emulator.flush()
    later, _, _ = await drain(live("okta", handle), cursor)
    assert {h.change_id for h in later} == user_event_uuids(emulator) - before
    await feed.close()


async def test_replayed_window_is_deduped_by_uuid(legacy):
    handle = legacy("okta", late_rate=0)
    emulator = handle.emulator
    emulator.seed_sample()
    mixed_changes(emulator, 60)
    feed = live("okta", handle, start_at=datetime.now(UTC) - timedelta(minutes=5), okta_page_limit=50)
    first = await feed.feed.read(None)  # one page only: max 50 events
    assert first.hints
    _hints, done, _ = await drain(feed, first.cursor)
    # A crash after emitting but before storing the cursor: the old next link is read again, with the newer
    # memory of ids seen (the overlap) — the replayed events are not emitted twice.
    replay = json.loads(first.cursor)
    replay["seen"] = json.loads(done)["seen"]
    again = await feed.feed.read(json.dumps(replay, separators=(",", ":"), sort_keys=True))
    assert again.hints == []
    await feed.close()


async def test_since_beyond_180_days_and_retention_raise_cursor_expired(legacy):
    handle = legacy("okta")
    emulator = handle.emulator
    emulator.seed_sample()
    mixed_changes(emulator, 5)
    with pytest.raises(CursorExpired, match="180 days"):
        await live("okta", handle, start_at=datetime.now(UTC) - timedelta(days=200)).feed.read(None)
    feed = live("okta", handle)
    _, cursor, _ = await drain(feed, None)
    emulator.clock.offset += 91 * 86400
    with pytest.raises(CursorExpired, match="retention"):
        await feed.feed.read(cursor)
    await feed.close()


async def test_rate_limit_is_honoured(legacy):
    handle = legacy("okta")
    emulator = handle.emulator
    emulator.seed_sample()
    emulator.bucket.configure(burst=2, per_second=4)
    feed = live("okta", handle)
    for user in emulator.users():
        emulator.bucket.drain()
        assert await feed.state.read_user(user["id"]) is not None
    assert feed.http.throttled >= 3 and emulator.stats.early == 0
    await feed.close()


async def test_state_maps_users_like_the_bulk_reader(legacy, tmp_path):
    handle = legacy("okta")
    emulator = handle.emulator
    emulator.seed_sample()
    sample = tmp_path / "users.csv"
    sample.write_text(emulator.export_text())
    bulk = {i.user.legacy_id: i.user for i in read_okta(sample, reader_options("okta")) if hasattr(i, "user")}
    feed = live("okta", handle)
    assert len(bulk) >= 3
    for legacy_id, expected in bulk.items():
        assert await feed.state.read_user(legacy_id) == expected
    assert await feed.state.read_user("00ugone") is None
    await feed.close()
