"""The Table ledger keeps who created each user and the wave plan, against Azurite (tests/waves/ledger_contract.py)."""

from __future__ import annotations

import pytest
from azure.data.tables.aio import TableClient

from shared.adapters.tables import TableLedger
from tests.waves import ledger_contract

pytestmark = pytest.mark.azurite


async def test_table_creations_survive_a_later_run_and_forget_drops_them(table: TableClient) -> None:
    await ledger_contract.creations_survive_a_later_run_and_forget_drops_them(TableLedger(table))


async def test_table_wave_plan_is_stored_and_replaced(table: TableClient) -> None:
    await ledger_contract.the_wave_plan_is_stored_and_replaced(TableLedger(table))
