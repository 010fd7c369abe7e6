"""The sync store contract, on SQLite and on Table Storage (Azurite): fingerprints, conflicts once, one poll lease
holder, counters that add up, the drop keeping the highest seq per user, awkward keys."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from azure.data.tables.aio import TableClient

from shared.sync.model import Conflict, CursorState, Fingerprint
from shared.sync.sqlite_store import SqliteSyncStore
from shared.sync.store import DropRecord, SyncStore
from shared.sync.table_store import TableSyncStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)
AWKWARD = "a/b#c?d\\e ünïcødé"


@pytest.fixture(params=["sqlite", "table"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SyncStore]:
    if request.param == "sqlite":
        sqlite = SqliteSyncStore(tmp_path / "sync.db")
        yield sqlite
        sqlite.close()
        return
    connection: str = request.getfixturevalue("azurite_connection_string")
    table = TableClient.from_connection_string(connection, f"t{uuid.uuid4().hex}")
    await table.create_table()
    try:
        yield TableSyncStore(table)
    finally:
        await table.delete_table()
        await table.close()


@pytest.mark.azurite
async def test_fingerprints_round_trip_with_awkward_ids(store: SyncStore) -> None:
    fp = Fingerprint(source="auth0", legacy_id=AWKWARD, object_id="oid", fields={"mail": "d1"}, seq=3, updated_at=T0)
    await store.put_fingerprint(fp)
    await store.put_fingerprint(Fingerprint(source="okta", legacy_id=AWKWARD, updated_at=T0))
    assert await store.get_fingerprints("auth0", [AWKWARD, "nobody"]) == {AWKWARD: fp}
    assert [f.legacy_id async for f in store.fingerprints("auth0")] == [AWKWARD]


@pytest.mark.azurite
async def test_forgotten_fingerprints_are_gone_and_absent_ones_are_no_error(store: SyncStore) -> None:
    for lid in (AWKWARD, "u1", "u2"):
        await store.put_fingerprint(Fingerprint(source="auth0", legacy_id=lid, updated_at=T0))
    await store.put_fingerprint(Fingerprint(source="okta", legacy_id="u1", updated_at=T0))
    await store.forget_fingerprints("auth0", [AWKWARD, "u1", "never-there"])
    assert [f.legacy_id async for f in store.fingerprints("auth0")] == ["u2"]
    assert [f.legacy_id async for f in store.fingerprints("okta")] == ["u1"]


@pytest.mark.azurite
async def test_a_conflict_is_recorded_once(store: SyncStore) -> None:
    conflict = Conflict(source="jsonl", legacy_id="u1", object_id="o", field="surname", legacy_value="A",
                        entra_value="B", resolution="entra", rule="entra_wins_after_cutover", at=T0)  # fmt: skip
    assert await store.record_conflict(conflict)
    assert not await store.record_conflict(conflict.model_copy(update={"at": T0 + timedelta(hours=1)}))
    assert [c.field for c in await store.conflicts("jsonl")] == ["surname"]
    assert len(await store.conflicts()) == 1


@pytest.mark.azurite
async def test_one_poll_lease_holder_at_a_time_and_it_expires(store: SyncStore) -> None:
    until = T0 + timedelta(minutes=5)
    results = await asyncio.gather(*(store.begin_poll("jsonl", f"h{i}", T0, until) for i in range(5)))
    assert sum(results) == 1
    assert await store.begin_poll("jsonl", "late", until + timedelta(seconds=1), until + timedelta(minutes=5))
    await store.end_poll("jsonl", "late")
    assert await store.begin_poll("jsonl", "next", T0, until)
    await store.put_cursor(CursorState(source="jsonl", cursor="42"))
    got = await store.get_cursor("jsonl")
    assert got is not None and got.cursor == "42"


@pytest.mark.azurite
async def test_counters_add_up_under_concurrency(store: SyncStore) -> None:
    await asyncio.gather(*(store.bump("jsonl", {"updated": 1, "created": 2}) for _ in range(10)))
    assert await store.counters("jsonl") == {"updated": 10, "created": 20}


@pytest.mark.azurite
async def test_the_drop_keeps_the_highest_seq_per_user(store: SyncStore) -> None:
    await store.put_drop_records([DropRecord("jsonl", AWKWARD, 5, "update", b"five")])
    await store.put_drop_records([DropRecord("jsonl", AWKWARD, 3, "update", b"three")])
    await store.put_drop_records([DropRecord("jsonl", AWKWARD, 7, "delete", b"")])
    got = await store.get_drop_record("jsonl", AWKWARD)
    assert got is not None and (got.seq, got.op) == (7, "delete")
    assert await store.get_drop_record("jsonl", "nobody") is None


@pytest.mark.azurite
async def test_a_snapshot_version_past_int32_is_kept_and_compared(store: SyncStore) -> None:
    version = 1_796_251_448_239  # a snapshot's version: its export's mtime in ms
    await store.put_drop_records([DropRecord("jsonl", "u1", version, "update", b"new")])
    await store.put_drop_records([DropRecord("jsonl", "u1", version - 1, "update", b"old")])
    got = await store.get_drop_record("jsonl", "u1")
    assert got is not None and (got.seq, got.sealed) == (version, b"new")
    await store.put_drop_records([DropRecord("jsonl", "u1", version + 1, "delete", b"")])
    got = await store.get_drop_record("jsonl", "u1")
    assert got is not None and (got.seq, got.op) == (version + 1, "delete")


@pytest.mark.azurite
async def test_many_fingerprints_put_at_once_upsert_per_source(store: SyncStore) -> None:
    """The import's baselines: one call per chunk, more rows than one Table transaction holds (100)."""
    await store.put_fingerprint(Fingerprint(source="auth0", legacy_id="u0", object_id="old", updated_at=T0))
    batch = [Fingerprint(source="auth0", legacy_id=f"u{i}", object_id=f"o{i}", updated_at=T0) for i in range(250)]
    batch += [Fingerprint(source="okta", legacy_id=AWKWARD, object_id="ok", updated_at=T0)]
    await store.put_fingerprints(batch)
    await store.put_fingerprints([])
    found = {f.legacy_id: f async for f in store.fingerprints("auth0")}
    assert len(found) == 250 and found["u0"].object_id == "o0"  # replaced by the later write
    assert await store.get_fingerprints("okta", [AWKWARD]) == {AWKWARD: batch[-1]}


@pytest.mark.azurite
async def test_no_increment_or_drop_record_lost_under_concurrent_instances(azurite_connection_string: str) -> None:
    """4 instances (own clients, as 4 Functions hosts) × 30 concurrent writers on one counter row and one drop row:
    every increment counts and the highest seq stays. The hand-written loops this replaced gave up after 20
    attempts and dropped the write silently."""
    name = f"t{uuid.uuid4().hex}"
    tables = [TableClient.from_connection_string(azurite_connection_string, name) for _ in range(4)]
    await tables[0].create_table()
    stores = [TableSyncStore(t) for t in tables]
    try:
        writers = [(n, stores[n % 4]) for n in range(120)]
        await asyncio.gather(
            *(s.bump("auth0", {"applied": 1, "created": 2}) for _, s in writers),
            *(s.put_drop_records([DropRecord("jsonl", "u1", n, "update", b"x")]) for n, s in writers),
        )
        assert await stores[0].counters("auth0") == {"applied": 120, "created": 240}
        got = await stores[1].get_drop_record("jsonl", "u1")
        assert got is not None and got.seq == 119
    finally:
        await tables[0].delete_table()
        for t in tables:
            await t.close()
