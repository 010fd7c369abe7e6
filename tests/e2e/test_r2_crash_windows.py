"""docs/guarantees.md R2: a crash after Graph committed a create and before the ledger recorded it.
Figures: duplicates 0, lost 0; redelivery → ObjectConflict → identity lookup → recorded as *created*.

The window is arranged deterministically. The emulator (its own process) sleeps `latency-ms` before it reads
each request, and the CLI sends a chunk's `$batch` requests one after another (BATCH_CONCURRENCY=1, 60 users per
chunk = 3 batches) and records the outcomes only when the whole chunk has answered. So the moment the tenant
holds its first users, those users are committed in Graph while the ledger still says `pending` for at least one
more latency period: the SIGKILL lands there. (A kill *during* the latency does not do it: aiohttp then fails the
body read and the emulator commits nothing.) The test checks that this state was reached before it resumes;
otherwise the resume would prove nothing.
"""

from __future__ import annotations

import csv
import time
from collections import Counter

from cli.run_cmd import execute_run
from shared.bootstrap import open_local_vault
from shared.vault import sqlite_vault
from tests.conftest import SAMPLE, settings_for
from tests.e2e.conftest import cli_env, ledger_pending, read_id_map, read_report, run_args

VALID_SAMPLE_USERS = 244  # samples/users.jsonl: 250 records, 6 deliberately bad (the md4 user resets: mode auto)
SAMPLE_REJECTED = 6
LATENCY_MS = 1000
TIME_SCALE = 20
CHUNK_SIZE = 60


def _sample_legacy_ids() -> set[str]:
    import json

    ids = [json.loads(line).get("legacyId") for line in SAMPLE.read_text().splitlines() if line.strip()]
    return {i for i in ids if isinstance(i, str)}


async def test_r2_kill9_between_graph_commit_and_ledger_write_duplicates_0_lost_0(tmp_path, emulator_process, cli):
    emulator = emulator_process(time_scale=TIME_SCALE, faults=f"latency-ms={LATENCY_MS}", seed=2)
    state = tmp_path / "state"
    args = run_args(SAMPLE, emulator, state, time_scale=TIME_SCALE, chunk_size=CHUNK_SIZE)

    env = cli_env(BATCH_CONCURRENCY="1")
    orphans: set[str] = set()
    attempts: list[str] = []
    for attempt in range(3):  # bounded: a kill that missed the window is retried from where the run stands
        proc = cli.spawn(args, env=env, out=tmp_path / "cli-out.log", err=tmp_path / "cli-err.log")
        before = emulator.users()
        deadline = time.monotonic() + 60
        while emulator.users() == before and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        killed = cli.kill9(proc)
        assert killed, f"the run ended before the kill (exit {proc.returncode})"
        emulator.wait_quiet(settle_s=LATENCY_MS / 1000 + 0.5, timeout_s=60)
        in_tenant = {legacy_id for _, legacy_id in emulator.tenant_users()}
        orphans = in_tenant & ledger_pending(state)
        attempts.append(
            f"kill {attempt + 1}: tenant {len(in_tenant)} users, {len(orphans)} of them pending in the ledger"
        )
        if orphans:
            break
    assert orphans, f"never reached the R2 window (committed in Graph, pending in the ledger): {attempts}"

    # Resume with the latency gone and 504-after-commit on, so R3's ambiguous retry runs beside R2's lookup.
    emulator.set_faults({"504-after-commit": 0.2, "seed": 5})
    resumed = cli.run(args, timeout=120)
    assert resumed.returncode == 0, resumed.stderr[-2000:]

    report = read_report(state)
    c = report["counts"]
    assert c["total"] == c["created"] + c["already_present"] + c["rejected"] + c["failed"], c
    assert c == {"total": 250, "created": VALID_SAMPLE_USERS, "already_present": 0,
                 "rejected": SAMPLE_REJECTED, "failed": 0}, (c, attempts)  # fmt: skip
    tenant = emulator.tenant_users()
    per_legacy_id = Counter(legacy_id for _, legacy_id in tenant)
    duplicates = sorted(k for k, n in per_legacy_id.items() if n > 1)
    assert not duplicates, f"duplicates {len(duplicates)} (R2 duplicates 0): {duplicates[:10]}"
    assert len(per_legacy_id) == VALID_SAMPLE_USERS, f"lost {VALID_SAMPLE_USERS - len(per_legacy_id)} (R2 lost 0)"
    assert set(per_legacy_id) <= _sample_legacy_ids()
    object_id_of = {legacy_id: object_id for object_id, legacy_id in tenant}
    id_map = {row["legacyId"]: row for row in read_id_map(state)}
    for legacy_id in orphans:  # the users whose 201 was never read: linked to the account Graph made, as created
        assert id_map[legacy_id]["objectId"] == object_id_of[legacy_id], legacy_id
        assert id_map[legacy_id]["outcome"] == "created", id_map[legacy_id]
    assert emulator.stats()["faults"]["injected"].get("504-after-commit", 0) > 0, "R3 path did not run"
    print(f"R2 window: {attempts}; orphans resolved as created: {len(orphans)}")


async def test_r2_failure_between_ledger_write_and_vault_write_keeps_every_hash(start_emulator, tmp_path, monkeypatch):
    """The same crash window one step later, made deterministic in process: the first vault write of the run fails
    (as a kill -9 or a Key Vault hiccup would stop it) after the ledger recorded the chunk's users as created.
    The redelivered chunk must still vault their hashes: residual credentials = users on the JIT path."""
    original = sqlite_vault.SqliteCredentialVault.store_many
    calls = {"n": 0}

    async def fails_once(self, credentials):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("the process died here")
        return await original(self, credentials)

    emulator = start_emulator(time_scale=20)
    baseline_state = tmp_path / "baseline"
    await execute_run(SAMPLE, "jsonl", settings_for(emulator, baseline_state, CHUNK_SIZE=50), show_progress=False)
    expected = open_local_vault(str(baseline_state)).count()
    assert expected > 0, "the sample has no JIT users: the test would prove nothing"

    monkeypatch.setattr(sqlite_vault.SqliteCredentialVault, "store_many", fails_once)
    emulator2 = start_emulator(time_scale=20)
    state = tmp_path / "state"
    run = await execute_run(SAMPLE, "jsonl", settings_for(emulator2, state, CHUNK_SIZE=50), show_progress=False)
    assert calls["n"] >= 2, "the failing vault write was not retried by a redelivery"
    assert run.failed == 0 and run.created == VALID_SAMPLE_USERS
    with (state / "runs" / run.run_id / "id-map.csv").open(newline="") as fh:
        created = [r["objectId"] for r in csv.DictReader(fh)]
    vault = open_local_vault(str(state))
    try:
        stored = [oid for oid in created if await vault.load(oid) is not None]
        assert len(stored) == expected, f"{expected - len(stored)} users lost their password hash"
    finally:
        vault.close()
