"""Rollback of wave 2, SIGKILLed at three points, then run again: it finishes, and only wave 2 is undone.

Three waves (--percent 30,60,100) of a 600-record export are imported into the emulator (its own process: it
outlives every kill). The emulator then answers every request 300 ms late (`latency-ms`, after processing), so
each kill lands in a window the test can prove it hit:
  1. before the first delete: the first read-back `$batch` is in flight, the tenant has lost nobody;
  2. mid-deletes: the tenant has lost part of wave 2, the ledger still lists the rest;
  3. after the deletes, before the ledger cleanup: the tenant holds no wave 2 user, the ledger still does.
Then `rollback --wave 2` runs to the end. What would make this fail: a wave 1 or 3 user deleted or changed, a
wave 2 user left in the tenant or its hash left in the vault, a ledger row kept (then `run --wave 2` would call
it already present and not recreate it), a rerun that cannot finish after a 404, or a second copy of anyone.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from shared.adapters.graph.client import emulator_token
from shared.bootstrap import open_local_vault
from tests.e2e.conftest import Cli, EmulatorProcess, run_args
from tests.e2e.exports import write_export

RECORDS = 600
TIME_SCALE = 1000
CHUNK_SIZE = 100
PERCENT = (30, 60, 100)
LATENCY_MS = 300
KILL_TIMEOUT_S = 60.0


def wave_by_rule(legacy_id: str) -> int:
    bucket = int.from_bytes(hashlib.sha256(legacy_id.encode()).digest()[:8], "big") % 10_000
    return next(n for n, pct in enumerate(PERCENT, start=1) if bucket < pct * 100)


def ledger_rows(state: Path, table: str, legacy_ids: set[str]) -> set[str]:
    conn = sqlite3.connect(f"file:{state / 'migration.db'}?mode=ro", uri=True, timeout=5)
    try:
        return {r[0] for r in conn.execute(f"SELECT legacy_id FROM {table}") if r[0] in legacy_ids}
    finally:
        conn.close()


def total_requests(emulator: EmulatorProcess) -> int:
    return int(emulator.stats()["totalRequests"])


def kill_when(cli: Cli, args: list[str], logs: Path, ready: Callable[[], bool]) -> bool:
    proc = cli.spawn(args, out=logs / "stdout.log", err=logs / "stderr.log")
    deadline = time.monotonic() + KILL_TIMEOUT_S
    while proc.poll() is None and time.monotonic() < deadline and not ready():
        time.sleep(0.01)
    return cli.kill9(proc)


def deleted_item(emulator: EmulatorProcess, object_id: str) -> int:
    headers = {"Authorization": "Bearer " + emulator_token().token}
    url = f"{emulator.base_url}/v1.0/directory/deletedItems/{object_id}"
    return httpx.get(url, headers=headers, timeout=10).status_code


async def vault_holds(state: Path, object_ids: set[str]) -> set[str]:
    vault = open_local_vault(str(state))
    try:
        return {oid for oid in object_ids if await vault.load(oid) is not None}
    finally:
        vault.close()


async def test_rollback_of_wave_2_killed_at_three_points_finishes_and_leaves_waves_1_and_3(
    tmp_path: Path, emulator_process: Any, cli: Cli
) -> None:
    export = write_export(tmp_path / "export.jsonl", RECORDS)
    emulator = emulator_process(time_scale=TIME_SCALE)
    state = tmp_path / "state"
    logs = tmp_path / "cli"
    logs.mkdir()
    waves = {n: {lid for lid in export.valid if wave_by_rule(lid) == n} for n in (1, 2, 3)}
    planned = cli.run(["waves", "plan", "--export", str(export.path), "--source", "jsonl", "--state", str(state),
                       "--percent", ",".join(map(str, PERCENT))])  # fmt: skip
    assert planned.returncode == 0, planned.stderr
    run = run_args(export.path, emulator, state, time_scale=TIME_SCALE, chunk_size=CHUNK_SIZE)
    for wave in (1, 2, 3):
        done = cli.run([*run, "--wave", str(wave)], timeout=180)
        assert done.returncode == 0, done.stderr + done.stdout
    before = {lid: oid for oid, lid in emulator.tenant_users()}
    assert set(before) == export.valid
    wave2_ids = {before[lid] for lid in waves[2]}
    kept_ids = {before[lid] for lid in waves[1] | waves[3]}
    jit_kept = {before[lid] for lid in export.jit - waves[2]}
    assert await vault_holds(state, {before[lid] for lid in export.jit & waves[2]}), "wave 2 hashes vaulted first"

    rollback = ["rollback", "--state", str(state), "--wave", "2", "--graph-url", emulator.base_url,
                "--time-scale", str(TIME_SCALE)]  # fmt: skip
    dry = cli.run([*rollback, "--dry-run"])
    assert dry.returncode == 0 and f"would delete {len(waves[2]):,} users" in dry.stdout, dry.stdout
    assert "30 days" in dry.stdout
    assert emulator.users() == len(export.valid), "a dry run deletes nothing"

    emulator.set_faults({"latency-ms": LATENCY_MS})
    users_all = len(export.valid)
    # 1. before the first delete: the first read-back is on the wire
    requests0 = total_requests(emulator)
    assert kill_when(cli, rollback, logs, lambda: total_requests(emulator) > requests0)
    assert emulator.wait_quiet(settle_s=0.5) == users_all, "kill 1 must land before any delete"
    # 2. mid-deletes: part of wave 2 gone, the ledger still lists some of wave 2
    assert kill_when(cli, rollback, logs, lambda: users_all - emulator.users() >= 50)
    gone = users_all - emulator.wait_quiet(settle_s=0.5)
    assert 50 <= gone < len(waves[2]), gone
    assert ledger_rows(state, "creations", waves[2]), "kill 2 must land before the ledger is cleaned"
    # 3. every delete committed in the tenant, the last answers still on their way back: ledger not cleaned yet
    assert kill_when(cli, rollback, logs, lambda: emulator.users() <= users_all - len(waves[2]))
    assert emulator.wait_quiet(settle_s=0.5) == users_all - len(waves[2])
    left = ledger_rows(state, "creations", waves[2])
    assert left, "kill 3 must land after the deletes, before the ledger cleanup"

    emulator.set_faults({})
    print(json.dumps({"wave_sizes": {n: len(w) for n, w in waves.items()}, "gone_at_kill_2": gone,
                      "ledger_left_at_kill_3": len(left)}))  # fmt: skip
    final = cli.run(rollback, timeout=120)
    assert final.returncode == 0, final.stderr + final.stdout
    assert "30 days" in final.stdout
    assert f"already gone {len(left):,}" in final.stdout, final.stdout  # the deletes kill 3 cut off: 404 = done

    after = {lid: oid for oid, lid in emulator.tenant_users()}
    assert {lid: before[lid] for lid in waves[1] | waves[3]} == after, "waves 1 and 3 untouched, wave 2 gone"
    assert set(after.values()) == kept_ids
    assert all(deleted_item(emulator, oid) == 200 for oid in sorted(wave2_ids)[:10]), "restorable in deleted items"
    assert await vault_holds(state, wave2_ids) == set(), "wave 2 hashes left in the vault"
    assert await vault_holds(state, jit_kept) == jit_kept, "waves 1 and 3 hashes must stay"
    assert ledger_rows(state, "ledger", waves[2]) == set() and ledger_rows(state, "creations", waves[2]) == set()
    status = json.loads(cli.run(["status", "--state", str(state), "--json"]).stdout)
    assert [r["state"] for r in status["runs"] if r["wave"] == 2] == ["rolled back"]

    again = cli.run([*run, "--wave", "2"], timeout=180)
    assert again.returncode == 0, again.stderr + again.stdout
    (report_dir,) = sorted((state / "runs").glob("*-w2-02"))
    counts = json.loads((report_dir / "report.json").read_text())["counts"]
    assert (counts["created"], counts["already_present"], counts["failed"]) == (len(waves[2]), 0, 0), counts
    tenant = [lid for _, lid in emulator.tenant_users()]
    assert sorted(tenant) == sorted(export.valid), "the whole export once: wave 2 recreated, no duplicates"
    recreated = {oid for oid, lid in emulator.tenant_users() if lid in waves[2]}
    assert not recreated & wave2_ids, "wave 2 users are new objects"
    assert await vault_holds(state, {oid for oid, lid in emulator.tenant_users() if lid in export.jit & waves[2]})
