"""The changes.jsonl drop end to end, in process, against the tenant emulator: import, then apply changes."""

from __future__ import annotations

import json
from pathlib import Path

from cli.run_cmd import execute_run
from cli.sync_cmd import execute_sync
from tests.conftest import settings_for
from tests.sync.conftest import differences, person, tenant_users, write_jsonl


async def import_users(emulator, state: Path, records: list[dict]) -> None:
    export = write_jsonl(state.parent / "export.jsonl", records)
    run = await execute_run(export, "jsonl", settings_for(emulator, state), show_progress=False)
    assert run.created == len(records), run


async def test_create_update_email_disable_delete_flow_into_the_tenant(start_emulator, tmp_path):
    emulator = start_emulator(time_scale=50)
    state = tmp_path / "state"
    legacy = {f"u{i:05d}": person(i) for i in range(5)}
    await import_users(emulator, state, list(legacy.values()))
    changes = [
        {**person(0, surname="Renamed"), "op": "update", "seq": 1},
        {**person(1, email="new1@example.com"), "op": "update", "seq": 2},
        {**person(2, disabled=True), "op": "disable", "seq": 3},
        {"legacyId": "u00003", "op": "delete", "seq": 4},
        {**person(9), "op": "create", "seq": 5},
    ]
    drop = write_jsonl(tmp_path / "changes.jsonl", changes)
    summary = await execute_sync("jsonl", settings_for(emulator, state), feed=str(drop), snapshot=None, every=None,
                                 once=True, show_progress=False)  # fmt: skip
    legacy.update({"u00000": person(0, surname="Renamed"), "u00001": person(1, email="new1@example.com"),
                   "u00002": person(2, disabled=True), "u00003": None, "u00009": person(9)})  # fmt: skip
    assert differences(emulator.base_url, legacy) == []
    counters = summary["counters"]
    assert counters.get("created") == 1 and counters.get("deleted") == 1 and counters.get("disabled") == 1
    assert counters.get("updated") == 2, counters
    # again: nothing new to apply, nothing written
    again = await execute_sync("jsonl", settings_for(emulator, state), feed=str(drop), snapshot=None, every=None,
                               once=True, show_progress=False)  # fmt: skip
    assert again["queued"] == 0
    assert "u00009" in tenant_users(emulator.base_url)


async def test_an_empty_drop_is_no_change_not_an_error(tmp_path):
    from shared.sealing import Sealer
    from shared.sync.drop import ChangeDrop
    from shared.sync.sqlite_store import SqliteSyncStore

    drop = tmp_path / "changes.jsonl"
    drop.write_text("")
    store = SqliteSyncStore(tmp_path / "sync.db")
    page = await ChangeDrop(drop, store, Sealer(b"k" * 32)).read(None)
    store.close()
    assert list(page.hints) == [] and page.cursor is None


async def test_a_create_for_a_user_whose_wave_has_not_run_waits_for_it(start_emulator, tmp_path):
    from datetime import UTC, datetime

    from shared.adapters.local.ledger import SqliteLedger
    from shared.waves import WavePlan, percent_waves

    emulator = start_emulator(time_scale=50)
    state = tmp_path / "state"
    ledger = SqliteLedger(state / "migration.db")
    await ledger.save_wave_plan(WavePlan(kind="percent", waves=percent_waves([50, 100]), planned_at=datetime.now(UTC)))
    ledger.close()
    waiting = {f"u{i:05d}": person(i) for i in range(20, 24)}
    drop = write_jsonl(tmp_path / "changes.jsonl", [{**r, "op": "create", "seq": n} for n, r in
                                                     enumerate(waiting.values(), 1)])  # fmt: skip
    summary = await execute_sync("jsonl", settings_for(emulator, state), feed=str(drop), snapshot=None, every=None,
                                 once=True, show_progress=False)  # fmt: skip
    assert summary["counters"].get("awaiting_wave") == 4 and not summary["counters"].get("created"), summary
    assert not set(waiting) & set(tenant_users(emulator.base_url))
    # the whole export is imported (a run without --wave opens every wave); later changes now create
    await import_users(emulator, state, [person(i) for i in range(3)])
    with drop.open("a", encoding="utf-8") as fh:  # the legacy side changes them again: the drop grows
        fh.writelines(json.dumps({**r, "op": "update", "seq": n}) + "\n" for n, r in enumerate(waiting.values(), 10))
    again = await execute_sync("jsonl", settings_for(emulator, state), feed=str(drop), snapshot=None, every=None,
                               once=True, show_progress=False)  # fmt: skip
    assert again["counters"].get("created") == 4, again
    assert set(waiting) <= set(tenant_users(emulator.base_url))
