"""Auth0 logs feed against the Auth0 emulator: paging by log_id, resume, late-indexed records, retention, state."""

from __future__ import annotations

import json
import random

import pytest

from emulator.legacy import Change
from shared.sources import SourceOptions, read_auth0
from shared.sync.feed import CursorExpired
from shared.sync.feeds.auth0 import hint_for
from shared.sync.feeds.records import reader_options
from tests.feeds.conftest import drain, live

OPS = ("update", "email", "disable", "enable", "password")


def mixed_changes(emulator, n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    ids = [u["user_id"] for u in emulator.users()]
    for i in range(n):
        if not ids or rng.random() < 0.2:
            ids += emulator.apply_all(
                [
                    Change(
                        "create",
                        fields={"email": f"new{i}@example.com", "given_name": "N"},
                        via=rng.choice(("admin", "user")),
                    )
                ]
            )
        elif rng.random() < 0.05 and len(ids) > 3:
            emulator.apply_all(
                [Change("delete", id=ids.pop(rng.randrange(len(ids))), via=rng.choice(("admin", "user")))]
            )
        else:
            op = rng.choice(OPS)
            fields = (
                {"given_name": f"G{i}"} if op == "update" else {"email": f"e{i}@example.com"} if op == "email" else {}
            )
            emulator.apply_all([Change(op, id=rng.choice(ids), fields=fields, via=rng.choice(("admin", "user")))])
    return ids


async def test_pages_by_log_id_and_resumes_from_the_cursor(legacy):
    handle = legacy("auth0", late_rate=0.3)
    emulator = handle.emulator
    emulator.seed_sample()
    mixed_changes(emulator, 250)
    feed = live("auth0", handle)
    hints, cursor, _ = await drain(feed, None)
    emulator.flush()  # records indexed late arrive with later log_ids: the next read finds them
    more, cursor, _ = await drain(feed, cursor)
    hints += more
    expected = {log["log_id"] for log in emulator.logs if hint_for(log) is not None}
    assert len(expected) >= 250
    assert [h.change_id for h in hints] == sorted(h.change_id for h in hints)  # log_id order, once each
    assert {h.change_id for h in hints} == expected
    dates = [log["date"] for log in emulator.logs]
    assert dates != sorted(dates)  # the quirk happened: log_id order is not date order
    assert feed.http.requests >= 4  # 250+ logs at take=100: several pages

    # Resume: a new feed from the stored cursor sees only what happened after it.
    mixed_changes(emulator, 30, seed=2)
    emulator.flush()
    again = live("auth0", handle)
    later, _, _ = await drain(again, cursor)
    assert later and not ({h.change_id for h in later} & expected)
    assert {h.change_id for h in later} == {log["log_id"] for log in emulator.logs if hint_for(log)} - expected
    await feed.close()
    await again.close()


async def test_hints_name_the_user_and_operation(legacy):
    handle = legacy("auth0", late_rate=0)
    emulator = handle.emulator
    created = emulator.apply_all([Change("create", fields={"email": "a@example.com"})])[0]
    emulator.apply_all(
        [
            Change("disable", id=created),
            Change("password", id=created, via="user"),
            Change("email", id=created, fields={"email": "b@example.com"}, via="user"),
            Change("delete", id=created),
        ]
    )
    feed = live("auth0", handle)
    hints, _, _ = await drain(feed, None)
    assert [(h.legacy_id, h.op) for h in hints] == [
        (created, "create"),
        (created, "disable"),
        (created, "password"),
        (created, "update"),
        (created, "delete"),
    ]
    await feed.close()


async def test_cursor_older_than_retention_raises_cursor_expired(legacy):
    handle = legacy("auth0", retention_days=1, late_rate=0)
    emulator = handle.emulator
    emulator.seed_sample()
    mixed_changes(emulator, 10)
    feed = live("auth0", handle, auth0_log_retention_days=1)
    _, cursor, _ = await drain(feed, None)
    emulator.clock.offset += 2 * 86400  # the poller was down for two days
    with pytest.raises(CursorExpired, match="retention"):
        await feed.feed.read(cursor)
    await feed.close()


async def test_429_is_honoured_no_request_goes_early(legacy):
    handle = legacy("auth0", late_rate=0)
    emulator = handle.emulator
    emulator.seed_sample()
    mixed_changes(emulator, 40)
    emulator.bucket.configure(burst=3, per_second=3)
    feed = live("auth0", handle)
    await drain(feed, None)
    for user in emulator.users()[:8]:
        emulator.bucket.drain()  # another client of the tenant used the bucket up: our next request gets a 429
        assert await feed.state.read_user(user["user_id"]) is not None
    assert emulator.stats.throttled >= 8 and feed.http.throttled >= 8  # the limit was hit …
    assert emulator.stats.early == 0  # … and after each 429 nothing was sent before the announced reset
    await feed.close()


async def test_state_maps_users_like_the_bulk_reader(legacy, tmp_path):
    handle = legacy("auth0")
    emulator = handle.emulator
    emulator.seed_sample()
    sample = tmp_path / "users.ndjson"
    sample.write_text(emulator.export_text())
    options: SourceOptions = reader_options("auth0")
    bulk = {item.user.legacy_id: item.user for item in read_auth0(sample, options) if hasattr(item, "user")}
    feed = live("auth0", handle)
    assert bulk
    for legacy_id, expected in bulk.items():
        assert await feed.state.read_user(legacy_id) == expected
    assert await feed.state.read_user("auth0|gone") is None
    await feed.close()
    assert json.loads(emulator.export_text().splitlines()[0])["user_id"]
