"""The Table ledger keeps who created each user and the wave plan, against Azurite (tests/waves/ledger_contract.py)."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest
from azure.data.tables.aio import TableClient

from shared.adapters.tables import TableLedger
from shared.waves import WavePlan
from tests.waves import ledger_contract

pytestmark = pytest.mark.azurite


async def test_table_creations_survive_a_later_run_and_forget_drops_them(table: TableClient) -> None:
    await ledger_contract.creations_survive_a_later_run_and_forget_drops_them(TableLedger(table))


async def test_table_wave_plan_is_stored_and_replaced(table: TableClient) -> None:
    await ledger_contract.the_wave_plan_is_stored_and_replaced(TableLedger(table))


def test_waves_plan_azure_stores_the_plan_in_the_table_ledger(
    azurite_connection_string: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from cli.main import app
    from tests.conftest import SAMPLE

    table_name = f"w{uuid.uuid4().hex}"
    monkeypatch.setenv("STORAGE_CONNECTION_STRING", azurite_connection_string)
    monkeypatch.setenv("LEDGER_TABLE", table_name)
    planned = CliRunner().invoke(app, ["waves", "plan", "--export", str(SAMPLE), "--source", "jsonl", "--azure",
                                       "--state", str(tmp_path / "unused"), "--percent", "10,100"])  # fmt: skip
    assert planned.exit_code == 0, planned.output
    assert not (tmp_path / "unused" / "migration.db").exists()  # nothing in the local state

    async def stored() -> WavePlan | None:
        ledger = TableLedger(TableClient.from_connection_string(azurite_connection_string, table_name))
        try:
            return await ledger.get_wave_plan()
        finally:
            await ledger.close()

    plan = asyncio.run(stored())
    assert plan is not None and plan.kind == "percent" and [w.upto_bp for w in plan.waves] == [1000, 10_000]
    listed = CliRunner().invoke(app, ["waves", "list", "--azure", "--json"])
    assert json.loads(listed.output)["waves"][1]["planned_count"] == plan.waves[1].planned_count
