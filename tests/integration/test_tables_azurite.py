"""TableLedger against Azurite: awkward keys, upserts, get_many, chunk tallies, runs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from azure.data.tables.aio import TableClient

from shared.adapters.tables import MAX_KEY_BYTES, TableLedger, escape_key
from shared.errors import RunNotFound
from shared.messages import ChunkImported
from shared.outcomes import LedgerEntry, Outcome, RunState

pytestmark = pytest.mark.azurite

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
AWKWARD_IDS = [
    "a/b#c?d\\e",
    "ünïcødé-用户-🙂",
    "tab\there\nnewline\x00nul\x7fdel\x85nel",
    "100%~tilde",
    "%002F",  # what an escaped "/" looks like: must stay distinct from "/"
    "/",
    "quote'in\"id",
    " leading and trailing ",
    "x" * 1024,  # too long to escape within 1 KiB: hashed
    "x" * 1023 + "y",
]


def entry(
    legacy_id: str, outcome: Outcome = Outcome.CREATED, *, source: str = "auth0", run_id: str = "run-1", **kw: object
) -> LedgerEntry:
    return LedgerEntry(
        source=source,
        legacy_id=legacy_id,
        run_id=run_id,
        outcome=outcome,
        object_id=kw.pop("object_id", f"oid-{len(legacy_id)}"),  # type: ignore[arg-type]
        updated_at=T0,
        **kw,  # type: ignore[arg-type]
    )


def run_state(run_id: str, *, started_at: datetime = T0, **kw: object) -> RunState:
    return RunState(run_id=run_id, source="auth0", export_ref=f"exports/{run_id}.jsonl", started_at=started_at, **kw)  # type: ignore[arg-type]


def test_escaped_keys_are_distinct_legal_and_short() -> None:
    keys = [escape_key(i) for i in AWKWARD_IDS]

    assert len(set(keys)) == len(AWKWARD_IDS)
    for key in keys:
        assert not set(key) & set("/\\#?")
        assert all(ord(c) >= 0x20 and not 0x7F <= ord(c) <= 0x9F for c in key)
        assert len(key.encode("utf-16-le")) <= MAX_KEY_BYTES


async def test_awkward_ids_round_trip_through_get_many(table: TableClient) -> None:
    ledger = TableLedger(table)
    entries = [entry(i, line=n, chunk_id="c1") for n, i in enumerate(AWKWARD_IDS)]

    await ledger.record(entries)
    got = await ledger.get_many("auth0", [*AWKWARD_IDS, "never-seen"])

    assert set(got) == set(AWKWARD_IDS)
    assert [got[i] for i in AWKWARD_IDS] == entries


async def test_record_upserts_by_source_and_legacy_id(table: TableClient) -> None:
    ledger = TableLedger(table)
    await ledger.record([entry("u1", Outcome.PENDING, object_id=None, code="x", message="first try")])

    await ledger.record(
        [entry("u1", Outcome.CREATED, object_id="oid-9"), entry("u1", source="okta", object_id="other")]
    )

    got = await ledger.get_many("auth0", ["u1"])
    assert got["u1"].outcome is Outcome.CREATED
    assert got["u1"].object_id == "oid-9"
    assert got["u1"].code is None and got["u1"].message is None, "REPLACE: fields of the old row must not linger"
    assert (await ledger.get_many("okta", ["u1"]))["u1"].object_id == "other"


async def test_record_and_get_many_over_several_batches(table: TableClient) -> None:
    ledger = TableLedger(table)
    ids = [f"user-{n:04d}" for n in range(250)]  # 3 transactions, 18 queries
    entries = [entry(i, line=n) for n, i in enumerate(ids)]

    await ledger.record([*entries[:5], *entries])  # repeats inside one call: last write wins

    got = await ledger.get_many("auth0", list(reversed(ids)))
    assert len(got) == 250
    assert got["user-0249"].line == 249


async def test_entries_for_run_lists_only_that_runs_users(table: TableClient) -> None:
    ledger = TableLedger(table)
    await ledger.save_run(run_state("run-1"))
    await ledger.record([entry("a"), entry("b"), entry("c", run_id="run-2"), entry("d", source="okta")])

    mine = sorted([e.legacy_id async for e in ledger.entries_for_run("run-1")])
    unsaved_run = sorted([e.legacy_id async for e in ledger.entries_for_run("run-2")])

    assert mine == ["a", "b"]
    assert unsaved_run == ["c"]


async def test_same_chunk_twice_is_counted_once(table: TableClient) -> None:
    ledger = TableLedger(table)
    await ledger.save_run(run_state("run-1", chunks=2, total=9, rejected=1))
    first = ChunkImported(run_id="run-1", chunk_id="c00001", created=3, already_present=1, failed=1)

    after_first = await ledger.record_chunk(first)
    after_redelivery = await ledger.record_chunk(first)
    done = await ledger.record_chunk(ChunkImported(run_id="run-1", chunk_id="c00002", created=2))

    assert (after_first.chunks_reported, after_first.created) == (1, 3)
    assert after_redelivery == after_first
    assert not after_first.complete
    assert (done.chunks_reported, done.created, done.already_present, done.failed) == (2, 5, 1, 1)
    assert done.complete
    assert done.total == 9 and done.rejected == 1


async def test_concurrent_chunk_reports_each_counted_exactly_once(table: TableClient) -> None:
    # Two ledgers on one table stand for two Function instances: they race on the tally's ETag.
    instances = [TableLedger(table), TableLedger(table)]
    await instances[0].save_run(run_state("run-1", chunks=20))
    results = [ChunkImported(run_id="run-1", chunk_id=f"c{n:05d}", created=1, failed=n % 2) for n in range(20)]
    deliveries = [*results, *results[:5]]

    await asyncio.gather(*(instances[n % 2].record_chunk(r) for n, r in enumerate(deliveries)))

    run = await instances[1].get_run("run-1")
    assert run is not None
    assert (run.chunks_reported, run.created, run.failed) == (20, 20, 10)
    assert run.complete


async def test_save_run_never_overwrites_the_chunk_counts(table: TableClient) -> None:
    ledger = TableLedger(table)
    await ledger.save_run(run_state("run-1", chunks=1))
    counted = await ledger.record_chunk(ChunkImported(run_id="run-1", chunk_id="c1", created=4))

    stale = run_state("run-1", chunks=1)  # a tracker holding a copy from before the chunk reported
    await ledger.save_run(stale.model_copy(update={"finished_at": T0 + timedelta(minutes=5)}))

    run = await ledger.get_run("run-1")
    assert run == counted.model_copy(update={"finished_at": T0 + timedelta(minutes=5)})


async def test_a_chunk_for_an_unsaved_run_is_kept_and_reported(table: TableClient) -> None:
    ledger = TableLedger(table)
    result = ChunkImported(run_id="run-x", chunk_id="c1", created=2)

    with pytest.raises(RunNotFound):
        await ledger.record_chunk(result)
    await ledger.save_run(run_state("run-x", chunks=1))
    run = await ledger.record_chunk(result)

    assert (run.chunks_reported, run.created) == (1, 2)


async def test_runs_saved_read_back_and_listed(table: TableClient) -> None:
    ledger = TableLedger(table)
    later = run_state(
        "run/2#?",
        started_at=T0 + timedelta(hours=1),
        chunks=3,
        total=10,
        rejected=2,
        reject_reasons={"invalid_email": 2},
        mapping={"tenant": "contoso.onmicrosoft.com", "extensions_app_id": "00000000-0000-4000-8000-000000000001",
                 "flag_attribute": "toBeMigrated"},
    )
    earlier = run_state("run-1", finished_at=T0 + timedelta(minutes=30))

    await ledger.save_run(later)
    await ledger.save_run(earlier)
    await ledger.record_chunk(ChunkImported(run_id="run/2#?", chunk_id="c1", created=4))

    assert await ledger.get_run("missing") is None
    assert await ledger.get_run("run-1") == earlier
    runs = await ledger.list_runs()
    assert [r.run_id for r in runs] == ["run-1", "run/2#?"]
    assert runs[1] == later.model_copy(update={"chunks_reported": 1, "created": 4})
