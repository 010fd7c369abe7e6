"""What rollback and waves need from any Ledger: the same scenario runs on SQLite and on Table (Azurite)."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.outcomes import Creation, LedgerEntry, Outcome
from shared.ports import Ledger
from shared.waves import Wave, WavePlan

NOW = datetime(2026, 12, 2, tzinfo=UTC)


def entry(legacy_id: str, outcome: Outcome, run_id: str, object_id: str | None = None) -> LedgerEntry:
    return LedgerEntry(
        source="jsonl", legacy_id=legacy_id, run_id=run_id, outcome=outcome, object_id=object_id, updated_at=NOW
    )


async def creations_survive_a_later_run_and_forget_drops_them(ledger: Ledger) -> None:
    # given run r1 created a and b, b was pending first, and c was already present (someone else's account)
    await ledger.record([entry("b", Outcome.PENDING, "r1")])
    await ledger.record([entry("a", Outcome.CREATED, "r1", "oid-a"), entry("b", Outcome.CREATED, "r1", "oid-b"),
                         entry("c", Outcome.ALREADY_PRESENT, "r1", "oid-c")])  # fmt: skip
    # when a later run r2 counts a as already present
    await ledger.record([entry("a", Outcome.ALREADY_PRESENT, "r2", "oid-a")])
    # then r1 still owns the creation of a and b, r2 owns none, c is nobody's creation
    made = await ledger.creations_of(["r1"])
    assert [(c.legacy_id, c.object_id, c.run_id) for c in made] == [("a", "oid-a", "r1"), ("b", "oid-b", "r1")]
    assert await ledger.creations_of(["r2"]) == []
    # when rollback forgets a
    await ledger.forget([Creation(source="jsonl", legacy_id="a", run_id="r1", object_id="oid-a")])
    # then a has no ledger row and no creation; b and c are untouched; forgetting again is harmless
    assert set(await ledger.get_many("jsonl", ["a", "b", "c"])) == {"b", "c"}
    assert [c.legacy_id for c in await ledger.creations_of(["r1", "r2"])] == ["b"]
    await ledger.forget([Creation(source="jsonl", legacy_id="a", run_id="r1", object_id="oid-a")])
    assert [c.legacy_id for c in await ledger.creations_of(["r1"])] == ["b"]


async def the_wave_plan_is_stored_and_replaced(ledger: Ledger) -> None:
    assert await ledger.get_wave_plan() is None
    first = WavePlan(kind="percent", waves=[Wave(number=1, label="0-100 %", upto_bp=10_000)], planned_at=NOW)
    await ledger.save_wave_plan(first)
    assert await ledger.get_wave_plan() == first
    second = WavePlan(kind="field", field="attributes.region", planned_at=NOW,
                      waves=[Wave(number=1, label="eu", values=["eu"], apps=["shop"], planned_count=3)])  # fmt: skip
    await ledger.save_wave_plan(second)
    assert await ledger.get_wave_plan() == second
