"""RELIABILITY R12 (reordered / redelivered changes), R13 (slow and missed polls), R16 (cursor expired → snapshot
diff), in process against the tenant emulator."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from shared.handlers.poll_changes import poll_changes
from shared.sync.feed import ChangeHint
from shared.sync.local import open_local_sync
from tests.conftest import settings_for
from tests.sync.conftest import differences, person, tenant_users, write_jsonl
from tests.sync.legacy_fakes import LegacyDirectory, ListFeed


class Writes:
    """Records the legacy version behind every write the sync makes (create or PATCH), in order."""

    def __init__(self, legacy: LegacyDirectory) -> None:
        self.legacy = legacy
        self.versions: list[int] = []
        self.last_read: int | None = None

    def wrap(self, local) -> None:
        directory = local.side.directory
        legacy = self.legacy
        original_read, original_update = legacy.read_version, directory.update_user
        original_create = local.parts.ports.directory.create_users

        async def read_version(legacy_id):
            user, version = await original_read(legacy_id)
            self.last_read = version
            return user, version

        async def update_user(object_id, patch):
            self.versions.append(self.last_read or 0)
            await original_update(object_id, patch)

        async def create_users(users):
            self.versions.append(self.last_read or 0)
            return await original_create(users)

        legacy.read_version = read_version  # type: ignore[method-assign]
        directory.update_user = update_user  # type: ignore[method-assign]
        local.parts.ports.directory.create_users = create_users  # type: ignore[method-assign]

    def out_of_order(self) -> int:
        return sum(1 for a, b in zip(self.versions, self.versions[1:], strict=False) if b < a)


async def test_r12_create_and_two_updates_reordered_and_redelivered_end_as_the_legacy_state(start_emulator, tmp_path):
    """R12: out-of-order applies 0; final state = legacy state; redelivery writes nothing."""
    emulator = start_emulator(time_scale=50)
    settings = settings_for(emulator, tmp_path / "state")
    legacy = LegacyDirectory()
    v1 = legacy.put("u00001", person(1, surname="One"))
    hint = {v: ChangeHint(change_id=f"c{v}", legacy_id="u00001", op="update", seq=v) for v in (1, 2, 3)}
    feed = ListFeed()
    async with open_local_sync(settings, "jsonl") as local:
        writes = Writes(legacy)
        writes.wrap(local)
        host = local.host(feed, legacy, concurrency=4)
        # the create (v1) is delivered last, after two updates (v2, v3), and everything twice
        v2 = legacy.put("u00001", person(1, surname="Two"))
        v3 = legacy.put("u00001", person(1, surname="Three", displayName="Third"))
        feed.add([hint[v3], hint[v2], hint[v1], hint[v3], hint[v1]])
        await host.run(every=None, once=True)
        # a lagging replica answers the old v1 for one more (redelivered) change: it must not be written
        legacy.stale["u00001"] = (person(1, surname="One"), v1)
        feed.add([ChangeHint(change_id="c1-again", legacy_id="u00001", op="update", seq=v1)])
        await host.run(every=None, once=True)
        counters = await local.side.store.counters("jsonl")
    assert differences(emulator.base_url, {"u00001": legacy.users["u00001"]}) == []
    assert writes.out_of_order() == 0, f"out-of-order applies: {writes.versions}"
    assert writes.versions == [3], "one create from the newest state; redeliveries and the stale read write nothing"
    assert counters["created"] == 1 and counters["stale_skipped"] == 1, counters


async def test_r13_a_poll_never_runs_twice_at_once_and_the_next_one_covers_missed_ticks(start_emulator, tmp_path):
    """R13: never concurrent; after 3 skipped ticks the next poll queues everything: missed records 0."""
    emulator = start_emulator(time_scale=50)
    settings = settings_for(emulator, tmp_path / "state")
    legacy = LegacyDirectory()
    feed = ListFeed(page_size=7)
    gate = asyncio.Event()
    original = feed.read

    async def slow_read(cursor):
        await gate.wait()  # a poll that outlives its interval
        return await original(cursor)

    async with open_local_sync(settings, "jsonl") as local:
        sync = local.ports(legacy)
        for i in range(10):
            legacy.put(f"u{i:05d}", person(i))
        feed.add([ChangeHint(change_id=f"c{i}", legacy_id=f"u{i:05d}", op="create") for i in range(10)])
        feed.read = slow_read  # type: ignore[method-assign]
        first = asyncio.create_task(poll_changes("jsonl", feed, sync, holder="tick-1"))
        await asyncio.sleep(0.2)
        overlapping = await poll_changes("jsonl", feed, sync, holder="tick-2")
        gate.set()
        done = await first
        assert not overlapping.ran and done.ran and done.emitted == 10
        # three ticks are missed while the legacy system keeps changing
        for tick in range(3):
            for i in range(10 + tick * 5, 15 + tick * 5):
                legacy.put(f"u{i:05d}", person(i))
                feed.add([ChangeHint(change_id=f"c{i}", legacy_id=f"u{i:05d}", op="create")])
        catch_up = await poll_changes("jsonl", feed, sync, holder="tick-5")
        assert catch_up.emitted == 15 and catch_up.pages == 3, catch_up
        await local.host(feed, legacy).run(every=None, once=True)
    assert differences(emulator.base_url, legacy.users) == [], "missed records"


async def test_r16_expired_cursor_requires_a_snapshot_diff_then_converges(start_emulator, tmp_path):
    """R16: the feed lost the cursor's position → the cursor is frozen until a snapshot diff; final diff 0."""
    emulator = start_emulator(time_scale=50)
    state = tmp_path / "state"
    settings = settings_for(emulator, state)
    legacy = LegacyDirectory()
    for i in range(6):
        legacy.put(f"u{i:05d}", person(i))
    feed = ListFeed(retention=timedelta(days=1))
    async with open_local_sync(settings, "jsonl") as local:
        feed.add([ChangeHint(change_id=f"c{i}", legacy_id=f"u{i:05d}", op="create") for i in range(6)])
        await local.host(feed, legacy).run(every=None, once=True)
        # while the poller is down, changes happen and the feed forgets them (retention)
        legacy.put("u00001", person(1, surname="Changed"))
        legacy.put("u00002", None)
        legacy.put("u00009", person(9))
        legacy.put("u00003", person(3, disabled=True))
        feed.add([ChangeHint(change_id=f"d{i}", legacy_id=f"u{i:05d}") for i in (1, 2, 9, 3)])
        feed.oldest = len(feed.hints)
        blocked = await poll_changes("jsonl", feed, local.ports(legacy), holder="h")
        assert blocked.blocked and blocked.emitted == 0
        cursor = await local.side.store.get_cursor("jsonl")
        assert cursor is not None and cursor.needs_snapshot
        export = write_jsonl(tmp_path / "nightly.jsonl", [r for r in legacy.users.values() if r])
        host = local.host(feed, legacy, snapshot=local.snapshot_diff(Path(export)))
        results = await host.run(every=None, once=True)
        assert results[0].snapshot_emitted == 4, results  # changed, vanished, created, disabled
        cursor = await local.side.store.get_cursor("jsonl")
        assert cursor is not None and not cursor.needs_snapshot
    assert differences(emulator.base_url, legacy.users) == [], "final diff"
    assert "u00002" not in tenant_users(emulator.base_url)
