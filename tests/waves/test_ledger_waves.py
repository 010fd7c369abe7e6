"""The SQLite ledger keeps who created each user and the wave plan (tests/waves/ledger_contract.py)."""

from __future__ import annotations

from pathlib import Path

from shared.adapters.local.ledger import SqliteLedger
from tests.waves import ledger_contract


async def test_sqlite_creations_survive_a_later_run_and_forget_drops_them(tmp_path: Path) -> None:
    await ledger_contract.creations_survive_a_later_run_and_forget_drops_them(SqliteLedger(tmp_path / "m.db"))


async def test_sqlite_wave_plan_is_stored_and_replaced(tmp_path: Path) -> None:
    await ledger_contract.the_wave_plan_is_stored_and_replaced(SqliteLedger(tmp_path / "m.db"))
