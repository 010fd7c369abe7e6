"""docs/guarantees.md R10 (+ R2): `ciam-migrate run` killed with SIGKILL at random points, then run again, ends
exactly as an uninterrupted run of the same export. Figures: duplicates 0, lost 0.

The emulator is a separate process, so it outlives every kill and keeps what was committed. Kill points are
drawn from a seeded RNG: a few by time from process start (interpreter start-up, SQLite open/recovery,
planning, first batches), most by import progress (when the tenant holds N users, plus a random jitter of a few
ms: that lands between a Graph commit and the ledger write, inside ledger and vault writes, between chunks), and
one after the last user exists (tracking, report writing). Kill points by progress make the kill count a
property of the test, not of the machine's speed: each of them happens before the run can have finished.

What would make this test fail:
* a restart that re-creates users (ledger intent lost, or redelivery re-posts) → a legacyId twice in the tenant;
* a user dropped on resume (chunk or message lost) → a legacyId missing from tenant, report or id-map;
* a crash after Graph's 201 recorded as anything but `created` (R2), or a run that cannot be resumed (a second
  run id, a stalled run, exit code ≠ 0);
* hashes lost on the way to the vault when the crash lands between the ledger write and the vault write.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from shared.bootstrap import open_local_vault
from tests.e2e.conftest import Cli, EmulatorProcess, read_id_map, read_report, run_args, run_dir
from tests.e2e.exports import Export, write_export

SEED = 20_010
RECORDS = 3_000
TIME_SCALE = 100  # the emulator's write quota window 150 s → 1.5 s; the client paces itself to match
CHUNK_SIZE = 100
TIME_KILLS = 2  # by time since start, before the import is under way
PROGRESS_KILLS = 9  # by number of users in the tenant
ITERATION_TIMEOUT_S = 60.0
POLL_S = 0.02


def _spawn_until(
    cli: Cli, args: list[str], logs: Path, emulator: EmulatorProcess, trigger: Callable[[float], bool], jitter_s: float
) -> dict[str, object]:
    """Start the CLI, wait (bounded) for `trigger(elapsed)`, wait `jitter_s` more, SIGKILL it."""
    proc = cli.spawn(args, out=logs / "stdout.log", err=logs / "stderr.log")
    started = time.monotonic()
    while proc.poll() is None and time.monotonic() - started < ITERATION_TIMEOUT_S:
        if trigger(time.monotonic() - started):
            break
        time.sleep(POLL_S)
    if proc.poll() is None and jitter_s:
        time.sleep(jitter_s)
    at = round(time.monotonic() - started, 3)
    users_before = emulator.users()
    killed = cli.kill9(proc)
    return {"at_s": at, "users_at_kill": users_before, "killed": killed, "exit": proc.returncode}


def _assert_ends_exactly_once(export: Export, emulator: EmulatorProcess, state: Path) -> dict[str, int]:
    report = read_report(state)
    c = report["counts"]
    assert c["total"] == c["created"] + c["already_present"] + c["rejected"] + c["failed"], c
    assert c["total"] == export.total and c["rejected"] == export.rejected, c
    assert c["failed"] == 0, f"failed {c['failed']}: {(run_dir(state) / 'failures.jsonl').read_text()[:500]}"
    assert c["created"] + c["already_present"] == len(export.valid), f"lost {len(export.valid) - c['created']}"

    tenant = emulator.tenant_users()
    per_legacy_id = Counter(legacy_id for _, legacy_id in tenant)
    duplicates = {k: n for k, n in per_legacy_id.items() if n > 1}
    assert not duplicates, f"duplicates {len(duplicates)} (R10 duplicates 0): {sorted(duplicates)[:10]}"
    missing = export.valid - set(per_legacy_id)
    assert not missing, f"lost {len(missing)} (R10 lost 0): {sorted(missing)[:10]}"
    assert set(per_legacy_id) == export.valid, f"unexpected users: {sorted(set(per_legacy_id) - export.valid)[:10]}"

    object_id_of = {legacy_id: object_id for object_id, legacy_id in tenant}
    id_map = read_id_map(state)
    mapped = Counter(row["legacyId"] for row in id_map)
    assert set(mapped) == export.valid and max(mapped.values()) == 1, "id-map.csv must list each valid user once"
    wrong = [r["legacyId"] for r in id_map if r["objectId"] != object_id_of[r["legacyId"]]]
    assert not wrong, f"id-map object ids that are not the tenant's user: {wrong[:10]}"
    return dict(c)


async def _vault_missing(export: Export, state: Path) -> list[str]:
    """JIT users (exported hash, or a plaintext Entra refused) with no (encrypted) credential under their object id."""
    object_id_of = {r["legacyId"]: r["objectId"] for r in read_id_map(state)}
    vault = open_local_vault(str(state))
    try:
        missing = [lid for lid in sorted(export.jit) if await vault.load(object_id_of[lid]) is None]
        assert vault.count() == len(export.jit) - len(missing), "credentials stored for users that are not JIT users"
        return missing
    finally:
        vault.close()


async def test_r10_kill9_at_random_points_resumes_to_duplicates_0_lost_0(tmp_path, emulator_process, cli):
    export = write_export(tmp_path / "export.jsonl", RECORDS)
    valid = len(export.valid)
    rng = random.Random(SEED)
    emulator = emulator_process(time_scale=TIME_SCALE, seed=SEED)
    state = tmp_path / "state"
    args = run_args(export.path, emulator, state, time_scale=TIME_SCALE, chunk_size=CHUNK_SIZE)
    logs = tmp_path / "cli"
    logs.mkdir()

    kills: list[dict[str, object]] = []
    for _ in range(TIME_KILLS):
        delay = rng.uniform(0.1, 1.5)
        kills.append({"phase": "start-up/planning", "delay_s": round(delay, 3)}
                     | _spawn_until(cli, args, logs, emulator, lambda t, d=delay: t >= d, 0))  # fmt: skip
    # Progress targets 100+ users apart, below the total: the run cannot finish before each kill.
    targets = sorted(rng.sample(range(1, valid // 100), PROGRESS_KILLS))
    for step in targets:
        target = step * 100 + rng.randint(-40, 40)
        jitter = rng.uniform(0, 0.05)
        reached = lambda _t, n=target: emulator.users() >= n  # noqa: E731
        kills.append({"phase": "importing", "target_users": target, "jitter_s": round(jitter, 3)}
                     | _spawn_until(cli, args, logs, emulator, reached, jitter))  # fmt: skip
    late = rng.uniform(0, 0.4)
    kills.append({"phase": "after last user (tracking/report)", "jitter_s": round(late, 3)}
                 | _spawn_until(cli, args, logs, emulator, lambda _t: emulator.users() >= valid, late))  # fmt: skip
    print("kill points:\n" + "\n".join(json.dumps(k) for k in kills))

    real_kills = [k for k in kills if k["killed"]]
    early_exits = [k for k in kills[:-1] if not k["killed"]]
    assert not early_exits, f"a run ended on its own before its kill point: {early_exits}"
    assert len(real_kills) >= 10, f"only {len(real_kills)} kills landed"

    finished_by_itself = kills[-1]["exit"] == 0
    if not finished_by_itself:
        final = cli.run(args, timeout=180)
        assert final.returncode == 0, f"resume exit code {final.returncode}: {final.stderr[-2000:]}"
        assert "Resuming run" in final.stdout, "the re-run did not resume the unfinished run"

    status = cli.run(["status", "--state", str(state), "--json"], timeout=60)
    assert status.returncode == 0, status.stderr
    listing = json.loads(status.stdout)
    assert len(listing["runs"]) == 1, f"a restart started a new run instead of resuming: {listing['runs']}"
    assert listing["runs"][0]["finished_at"], listing["runs"][0]
    assert listing["queue"].get("dead", 0) == 0, f"dead letters after kills: {listing['queue']}"

    killed_counts = _assert_ends_exactly_once(export, emulator, state)
    # R2: a user whose create committed before the crash is resolved by identity lookup as *created*.
    assert killed_counts["created"] == valid and killed_counts["already_present"] == 0, killed_counts

    # The same export, uninterrupted, on a fresh tenant: the same figures.
    fresh = emulator_process(time_scale=TIME_SCALE, seed=SEED)
    fresh_state = tmp_path / "uninterrupted"
    clean = cli.run(run_args(export.path, fresh, fresh_state, time_scale=TIME_SCALE, chunk_size=CHUNK_SIZE))
    assert clean.returncode == 0, clean.stderr[-2000:]
    clean_counts = _assert_ends_exactly_once(export, fresh, fresh_state)
    assert {k: v for k, v in killed_counts.items() if k not in ("created", "already_present")} == {
        k: v for k, v in clean_counts.items() if k not in ("created", "already_present")
    }, (killed_counts, clean_counts)
    assert killed_counts["created"] + killed_counts["already_present"] == (
        clean_counts["created"] + clean_counts["already_present"]
    )
    assert fresh.users() == emulator.users() == valid
    assert not await _vault_missing(export, fresh_state), "an uninterrupted run must vault every JIT user's hash"

    # Hashes must survive a kill between the vault write and the ledger write (the vault is written first).
    lost_hashes = await _vault_missing(export, state)
    assert not lost_hashes, f"{len(lost_hashes)} of {len(export.jit)} JIT users lost their hash"
