"""The SQLite ledger keeps who created each user and the wave plan (tests/waves/ledger_contract.py)."""

from __future__ import annotations

from pathlib import Path

from shared.adapters.local.ledger import SqliteLedger
from shared.ports import Ledger
from tests.waves import ledger_contract


async def test_sqlite_creations_survive_a_later_run_and_forget_drops_them(tmp_path: Path) -> None:
    await ledger_contract.creations_survive_a_later_run_and_forget_drops_them(SqliteLedger(tmp_path / "m.db"))


async def test_sqlite_wave_plan_is_stored_and_replaced(tmp_path: Path) -> None:
    await ledger_contract.the_wave_plan_is_stored_and_replaced(SqliteLedger(tmp_path / "m.db"))


async def test_a_state_from_before_creations_were_kept_gets_them_from_its_created_rows(tmp_path: Path) -> None:
    import sqlite3

    from shared.outcomes import Outcome

    db = tmp_path / "m.db"
    ledger = SqliteLedger(db)
    await ledger.record([ledger_contract.entry("a", Outcome.CREATED, "r1", "oid-a"),
                         ledger_contract.entry("b", Outcome.ALREADY_PRESENT, "r1", "oid-b")])  # fmt: skip
    ledger.close()
    conn = sqlite3.connect(db)
    conn.execute("DROP TABLE creations")  # what an older version left behind
    conn.commit()
    conn.close()
    reopened = SqliteLedger(db)
    assert [(c.legacy_id, c.run_id) for c in await reopened.creations_of(["r1"])] == [("a", "r1")]


async def test_the_fake_ledger_keeps_creations_and_the_wave_plan_as_the_real_ones_do() -> None:
    from tests.fakes import FakeLedger

    ledger: Ledger = FakeLedger()  # the handler tests' ledger honours the same contract
    await ledger_contract.creations_survive_a_later_run_and_forget_drops_them(ledger)
    await ledger_contract.the_wave_plan_is_stored_and_replaced(FakeLedger())
