"""R29: permanent errors (401, 403, a bad tenant) stop the run at once with the cause and its fix:
exit 2, nothing redelivered (redeliveries 0), `status` says failed with the reason."""

from __future__ import annotations

import asyncio

import pytest
from typer.testing import CliRunner

from cli.local_host import RunStopped
from cli.main import app
from cli.run_cmd import execute_run
from shared.adapters.local.queue import SqliteQueue
from tests.conftest import SAMPLE, emulator_stats, settings_for

APP = "dddddddd-4444-4444-8444-00000000000d"
SECRET = "permanent-lane-secret"


def deliveries(state) -> list[tuple[str, int, str, str | None]]:
    queue = SqliteQueue(state / "migration.db")
    try:
        return queue._conn.execute("SELECT id, delivery_count, state, dead_reason FROM messages").fetchall()
    finally:
        queue.close()


def test_a_401_from_graph_ends_run_with_exit_2_and_the_fix_before_anything_is_queued(start_emulator, tmp_path) -> None:
    # The emulator trusts only tokens it issued; a lane without a credential of its own gets 401 from Graph.
    emulator = start_emulator(client_apps=[{"client_id": APP, "secret": SECRET}])
    state = tmp_path / "state"
    result = CliRunner().invoke(app, ["run", str(SAMPLE), "--source", "jsonl", "--graph-url", emulator.base_url,
                                      "--state", str(state), "--app", APP])  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "401" in result.output and "--tenant" in result.output and "doctor" in result.output, result.output
    assert not (state / "migration.db").exists() or deliveries(state) == [], "a permanent error was queued"
    assert emulator_stats(emulator)["users"] == 0


async def test_a_401_inside_the_host_is_dead_lettered_on_first_delivery_and_status_says_failed(
    start_emulator, tmp_path
) -> None:
    """Past the preflight (a token revoked mid-run): the host stops at once, no redelivery spin."""
    emulator = start_emulator(client_apps=[{"client_id": APP, "secret": SECRET}])
    settings = settings_for(emulator, tmp_path, APP_IDS=[APP])
    with pytest.raises(RunStopped, match="401"):
        await execute_run(SAMPLE, "jsonl", settings, show_progress=False)
    rows = deliveries(tmp_path)
    assert [r[1] for r in rows] == [1], f"redelivered: {rows}"
    assert rows[0][2] == "dead" and rows[0][3].startswith("GraphAccessDenied")
    status = await asyncio.to_thread(CliRunner().invoke, app, ["status", "--state", str(tmp_path)])
    assert "failed: Graph 401" in status.output and "in progress" not in status.output, status.output
    assert "next: fix the cause above" in status.output and "None" not in status.output, status.output


async def test_a_403_on_create_stops_the_run_naming_the_permission(start_emulator, tmp_path, monkeypatch) -> None:
    emulator = start_emulator(client_apps=[{"client_id": APP, "secret": SECRET,
                                            "permissions": ["Application.ReadWrite.OwnedBy"]}])  # fmt: skip
    monkeypatch.setenv("PERMANENT_SECRET", SECRET)
    settings = settings_for(emulator, tmp_path, APP_IDS=[f"{APP}:secret-env=PERMANENT_SECRET"])
    with pytest.raises(RunStopped, match=r"User\.ReadWrite\.All"):
        await execute_run(SAMPLE, "jsonl", settings, show_progress=False)
    assert max(r[1] for r in deliveries(tmp_path)) == 1, "a message was redelivered"
    assert emulator_stats(emulator)["users"] == 0
