"""Coexistence rehearsal: bulk import 2,000 users, then 500 mixed legacy changes while a second import runs
beside the sync (sharing the write quota); the sync is killed with SIGKILL at 5 random points and restarted.
Afterwards the tenant equals the legacy side field by field for every mapped field: 0 differences.

One test per source, so each stays near a minute: `jsonl` (a changes.jsonl drop, lines out of seq order),
`snapshot` (nightly exports diffed against the fingerprints), and the vendors' own change logs — `auth0`, `okta`,
`keycloak` — served by their emulators (emulator.legacy) with their quirks on. Each sync is killed at a random
moment after its first poll, so the kills land mid-apply; at least one lands while the second import runs.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from emulator.legacy import run_in_thread
from tests.e2e.conftest import Cli, EmulatorProcess, run_args
from tests.sync.changes import LegacyWorld
from tests.sync.conftest import cli_env, differences, person, source_mapping, write_jsonl
from tests.sync.vendor_world import VendorWorld

USERS, CHANGES, KILLS, SECOND_WAVE = 2000, 500, 5, 1500
TIME_SCALE = 100
# A killed sync's poll lease blocks the next poll until it expires (R13): short here, so a restart polls at once.
SYNC_ENV = {"SYNC_POLL_LEASE_S": "3"}


def sync_args(feed: str, where: Path, emulator: EmulatorProcess, state: Path, *, once: bool) -> list[str]:
    args = ["sync", "--source", "jsonl", "--state", str(state), "--graph-url", emulator.base_url,
            "--time-scale", str(TIME_SCALE)]  # fmt: skip
    args += ["--feed", str(where)] if feed == "jsonl" else ["--snapshot", str(where)]
    return args + (["--once"] if once else ["--every", "0.5"])


def kill_while_applying(cli: Cli, args: list[str], env: dict[str, str], out: Path, rng: random.Random) -> bool:
    """Start a sync and SIGKILL it at a random moment after its first poll (so the kill lands mid-apply)."""
    seen = out.read_text().count("polled") if out.exists() else 0
    proc = cli.spawn(args, env=env, out=out, err=out.with_suffix(".err"))
    deadline = time.monotonic() + 60
    while out.read_text().count("polled") == seen and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(rng.uniform(0.1, 1.5))
    return cli.kill9(proc)


def wave_report(state: Path) -> dict[str, Any]:
    """The second import's report (the jsonl wave) in a state directory."""
    reports = [json.loads(p.read_text()) for p in (state / "runs").glob("*/report.json")]
    found = [r for r in reports if r["source"] == "jsonl" and r["counts"]["total"] == SECOND_WAVE]
    assert len(found) == 1, [r["counts"] for r in reports]
    return found[0]


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
    kills = beside = 0
    per_batch = CHANGES // KILLS
    for batch in range(KILLS):
        lines = [world.step() for _ in range(per_batch)]
        where = drop
        if feed == "jsonl":
            rng.shuffle(lines)  # lines arrive out of seq order: the highest seq per user wins
            write_jsonl(drop, lines, append=True)
        else:
            where = write_jsonl(tmp_path / f"nightly-{batch}.jsonl", [r for r in world.users.values() if r])
        args = sync_args(feed, where, emulator, state, once=False)
        kills += kill_while_applying(cli, args, cli_env(**SYNC_ENV), tmp_path / "sync.out", rng)
        beside += second.poll() is None
    assert kills == KILLS, "every kill must hit a running sync"
    assert beside >= 1, "the sync must apply changes while the second import runs"
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
    assert "A sync is running beside this import" in (tmp_path / "wave.out").read_text()  # SYNC_ENABLED: told


LEGACY_ENV = {
    "auth0": {"LEGACY_CLIENT_ID": "sync-client", "LEGACY_CLIENT_SECRET": "sync-secret"},
    "okta": {"LEGACY_API_TOKEN": "okta-api-token"},
    "keycloak": {"LEGACY_CLIENT_ID": "ciam-sync", "LEGACY_CLIENT_SECRET": "kc-secret"},
}


def vendor_sync_args(source: str, feed: str, emulator: EmulatorProcess, state: Path, *, once: bool) -> list[str]:
    args = ["sync", "--source", source, "--feed", feed, "--state", str(state), "--graph-url", emulator.base_url,
            "--time-scale", str(TIME_SCALE)]  # fmt: skip
    return args + (["--once"] if once else ["--every", "0.5"])


@pytest.mark.parametrize("source", ["auth0", "okta", "keycloak"])
def test_vendor_feed_rehearsal_ends_with_zero_differences_after_kill9s(
    source: str, emulator_process, cli: Cli, tmp_path: Path
) -> None:
    """The same rehearsal with the vendor's own change log as the feed: 500 changes made through the vendor's
    emulator (admin API or self-service, its quirks on: late-indexed Auth0 logs, late-persisted Okta events,
    equal-millisecond Keycloak events), each re-read from the vendor's user API by the sync."""
    rng = random.Random(f"rehearsal-{source}")
    emulator = emulator_process(time_scale=TIME_SCALE)
    state = tmp_path / "state"
    world = VendorWorld(source, USERS, seed=7)
    handle = run_in_thread(world.emulator)
    try:
        feed = f"{handle.base_url}/realms/acme" if source == "keycloak" else handle.base_url
        bulk = cli.run(run_args(world.export(tmp_path), emulator, state, time_scale=TIME_SCALE, chunk_size=250,
                                source=source), timeout=300)  # fmt: skip
        assert bulk.returncode == 0, bulk.stderr[-2000:]
        wave = write_jsonl(tmp_path / "wave2.jsonl", [person(i, legacyId=f"w{i:05d}", email=f"w{i}@example.net")
                                                      for i in range(SECOND_WAVE)])  # fmt: skip
        # the second import runs on the sync's own state directory: it finds the sync running and leaves it its share
        wave_args = run_args(wave, emulator, state, time_scale=TIME_SCALE, chunk_size=100)
        second = cli.spawn(wave_args, out=tmp_path / "wave.out", err=tmp_path / "wave.err")
        env = cli_env(**SYNC_ENV, **LEGACY_ENV[source])
        kills, beside, ops = 0, 0, Counter[str]()
        for _ in range(KILLS):
            ops.update(world.step() for _ in range(CHANGES // KILLS))
            args = vendor_sync_args(source, feed, emulator, state, once=False)
            kills += kill_while_applying(cli, args, env, tmp_path / "sync.out", rng)
            beside += second.poll() is None
        assert kills == KILLS, "every kill must hit a running sync"
        assert beside >= 1, "the sync must apply changes while the second import runs"
        assert set(ops) == {"create", "update", "email", "disable", "enable", "delete", "password"}, ops
        assert second.wait(timeout=300) == 0, (tmp_path / "wave.err").read_text()[-2000:]

        world.emulator.flush()  # records the vendor indexed late are visible now, as they would be eventually
        done = cli.run(vendor_sync_args(source, feed, emulator, state, once=True), env=env, timeout=600)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        print(f"{source}: {kills} kills, {beside} while the second import ran; last pass: {done.stdout[-300:]}")
        truth = world.truth(tmp_path)
    finally:
        handle.stop()

    assert sum(v is None for v in truth.values()) >= 20 and len(truth) > USERS  # deletes and creates happened
    problems = differences(emulator.base_url, truth, source_mapping(source))
    assert problems == [], f"{len(problems)} differences, e.g. {problems[:5]}"
    status = json.loads(cli.run(["sync", "status", "--state", str(state), "--json"]).stdout)
    counters = status["sources"][0]["counters"]
    assert counters.get("failed", 0) == 0 and counters.get("out_of_order_applies", 0) == 0, counters
    report = wave_report(state)
    assert report["counts"] == {**report["counts"], "created": SECOND_WAVE, "failed": 0}
    assert "A sync is running beside this import" in (tmp_path / "wave.out").read_text()  # detected, and told
