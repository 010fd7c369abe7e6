"""The local ledger: upserts by (source, legacyId) and counts a redelivered chunk result once."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.adapters.local.ledger import SqliteLedger
from shared.messages import ChunkImported
from shared.outcomes import LedgerEntry, Outcome, RunState

NOW = datetime(2026, 11, 26, tzinfo=UTC)


def entry(legacy_id: str, outcome: Outcome, run_id: str = "r1") -> LedgerEntry:
    return LedgerEntry(source="jsonl", legacy_id=legacy_id, run_id=run_id, outcome=outcome, updated_at=NOW)


async def test_upsert_keeps_one_row_per_legacy_user(tmp_path):
    ledger = SqliteLedger(tmp_path / "l.db")
    await ledger.record([entry("a", Outcome.PENDING), entry("b", Outcome.PENDING)])
    await ledger.record([entry("a", Outcome.CREATED)])
    found = await ledger.get_many("jsonl", ["a", "b", "missing"])
    assert {k: v.outcome for k, v in found.items()} == {"a": Outcome.CREATED, "b": Outcome.PENDING}


async def test_a_redelivered_chunk_result_is_counted_once(tmp_path):
    ledger = SqliteLedger(tmp_path / "l.db")
    await ledger.save_run(RunState(run_id="r1", source="jsonl", export_ref="x", started_at=NOW, chunks=2, total=5))
    result = ChunkImported(run_id="r1", chunk_id="c0", created=2, already_present=1)
    await ledger.record_chunk(result)
    run = await ledger.record_chunk(result)
    assert (run.chunks_reported, run.created, run.already_present, run.complete) == (1, 2, 1, False)
    run = await ledger.record_chunk(ChunkImported(run_id="r1", chunk_id="c1", failed=2))
    assert run.complete and run.failed == 2


async def test_saving_a_stale_run_state_cannot_wipe_chunk_counts(tmp_path):
    ledger = SqliteLedger(tmp_path / "l.db")
    run = RunState(run_id="r1", source="jsonl", export_ref="x", started_at=NOW, chunks=1)
    await ledger.save_run(run)
    await ledger.record_chunk(ChunkImported(run_id="r1", chunk_id="c0", created=3))
    await ledger.save_run(run)  # stale copy: created=0
    assert (await ledger.get_run("r1")).created == 3
