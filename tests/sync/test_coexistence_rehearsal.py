"""Coexistence rehearsal: bulk import 2,000 users, then 500 mixed legacy changes while a second import runs
beside the sync (sharing the write quota); the sync is killed with SIGKILL at 5 random points and restarted.
Afterwards the tenant equals the legacy side field by field for every mapped field: 0 differences.

Parametrised by feed: `jsonl` (a changes.jsonl drop, lines out of seq order) and `snapshot` (nightly exports
diffed against the fingerprints). Other feeds add their name and a `feed_args` branch here.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli, EmulatorProcess, run_args
from tests.sync.changes import LegacyWorld
from tests.sync.conftest import cli_env, differences, person, write_jsonl

USERS, CHANGES, KILLS, SECOND_WAVE = 2000, 500, 5, 1000
TIME_SCALE = 100
SYNC_ENV = {"SYNC_POLL_LEASE_S": "30"}


def sync_args(feed: str, where: Path, emulator: EmulatorProcess, state: Path, *, once: bool) -> list[str]:
    args = ["sync", "--source", "jsonl", "--state", str(state), "--graph-url", emulator.base_url,
            "--time-scale", str(TIME_SCALE)]  # fmt: skip
    args += ["--feed", str(where)] if feed == "jsonl" else ["--snapshot", str(where)]
    return args + (["--once"] if once else ["--every", "0.5"])


@pytest.mark.parametrize("feed", ["jsonl", "snapshot"])
def test_coexistence_rehearsal_ends_with_zero_differences_after_kill9s(
    feed: str, emulator_process, cli: Cli, tmp_path: Path
) -> None:
    rng = random.Random(f"rehearsal-{feed}")
    emulator = emulator_process(time_scale=TIME_SCALE)
    state, wave_state = tmp_path / "state", tmp_path / "wave2"
    world = LegacyWorld(USERS, seed=7)
    export = write_jsonl(tmp_path / "export.jsonl", [r for r in world.users.values() if r])
    bulk = cli.run(run_args(export, emulator, state, time_scale=TIME_SCALE, chunk_size=250), timeout=300)
    assert bulk.returncode == 0, bulk.stderr[-2000:]

    # the second import: another wave of users into the same tenant, its own state, sharing the quota
    wave = write_jsonl(tmp_path / "wave2.jsonl", [person(i, legacyId=f"w{i:05d}", email=f"w{i}@example.net")
                                                  for i in range(SECOND_WAVE)])  # fmt: skip
    wave_args = run_args(wave, emulator, wave_state, time_scale=TIME_SCALE, chunk_size=100)
    second = cli.spawn(
        wave_args, env=cli_env(SYNC_ENABLED="true"), out=tmp_path / "wave.out", err=tmp_path / "wave.err"
    )

    drop = tmp_path / "changes.jsonl"
    drop.write_text("")
    kills = 0
    per_batch = CHANGES // KILLS
    for batch in range(KILLS):
        lines = [world.step() for _ in range(per_batch)]
        where = drop
        if feed == "jsonl":
            rng.shuffle(lines)  # lines arrive out of seq order: the highest seq per user wins
            write_jsonl(drop, lines, append=True)
        else:
            where = write_jsonl(tmp_path / f"nightly-{batch}.jsonl", [r for r in world.users.values() if r])
        proc = cli.spawn(sync_args(feed, where, emulator, state, once=False), env=cli_env(**SYNC_ENV),
                         out=tmp_path / "sync.out", err=tmp_path / "sync.err")  # fmt: skip
        time.sleep(rng.uniform(0.5, 3.0))
        kills += cli.kill9(proc)
    assert kills == KILLS, "every kill must hit a running sync"
    assert second.wait(timeout=300) == 0, (tmp_path / "wave.err").read_text()[-2000:]

    # the last pass: everything left is applied (the snapshot variant diffs the final export once more)
    final = drop if feed == "jsonl" else write_jsonl(tmp_path / "nightly-final.jsonl",
                                                      [r for r in world.users.values() if r])  # fmt: skip
    done = cli.run(sync_args(feed, final, emulator, state, once=True), env=cli_env(**SYNC_ENV), timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]

    problems = differences(emulator.base_url, world.users)
    assert problems == [], f"{len(problems)} differences, e.g. {problems[:5]}"
    status = json.loads(cli.run(["sync", "status", "--state", str(state), "--json"]).stdout)
    counters = status["sources"][0]["counters"]
    assert counters.get("failed", 0) == 0 and counters.get("out_of_order_applies", 0) == 0, counters
    # the second import finished whole, beside the sync
    report = json.loads(next((wave_state / "runs").glob("*/report.json")).read_text())
    assert report["counts"]["created"] == SECOND_WAVE and report["counts"]["failed"] == 0
