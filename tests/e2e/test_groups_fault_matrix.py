"""Groups under the fault matrix (docs/guarantees.md R1, R3/R28, R10 applied to memberships): a redelivered
membership write, `kill -9` at random points of a run and 504s after commit (item and whole `$batch`) end with
every mapped membership in place exactly once. Figures: duplicate groups 0, duplicate memberships 0, missing 0,
extra 0, failed 0.

The expected memberships come from the export by construction (each user's legacy groups through the mapping
table); the tenant is read back through Graph (`/groups`, `/groups/{id}/members`), never from our own ledger.
What would make these fail: a group created twice (POST retried after a 504 instead of the uniqueName upsert),
a membership counted as failed because its re-send met Graph's duplicate 400, a chunk reported before its
memberships were written (lost on kill), or the report counting a redelivered chunk twice.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.conftest import Cli, EmulatorProcess, run_args

SEED = 1313
USERS = 600
TIME_SCALE = 100
LATENCY_MS = 100  # kill test: each request waits, so a run's writes spread over seconds and kills land mid-import
CHUNK_SIZE = 50
KILLS = 3
LEGACY_GROUPS = ("admins", "premium", "newsletter", "everyone", "legacy-only")
MAPPING = {"admins": "Shop admins", "premium": "Premium customers", "newsletter": "Newsletter"}
PROFILE = """source = "jsonl"
[groups]
ignore = ["everyone"]
[groups.map.admins]
group = "Shop admins"
[groups.map.premium]
group = "Premium customers"
[groups.map.newsletter]
group = "Newsletter"
"""


def _export(tmp: Path) -> tuple[Path, Path, dict[str, set[str]], int]:
    """The export, its profile, the expected members per Entra group (legacy ids), and the unmapped count."""
    rng = random.Random(SEED)
    expected: dict[str, set[str]] = {name: set() for name in MAPPING.values()}
    unmapped = 0
    path = tmp / "export.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for i in range(USERS):
            legacy_id = f"G{i:05d}"
            groups = rng.sample(LEGACY_GROUPS, rng.randint(0, 4))
            for name in groups:
                if name in MAPPING:
                    expected[MAPPING[name]].add(legacy_id)
                unmapped += name == "legacy-only"
            fh.write(json.dumps({"legacyId": legacy_id, "email": f"g{i}@example.com", "groups": groups}) + "\n")
    profile = tmp / "mapping.toml"
    profile.write_text(PROFILE, encoding="utf-8")
    return path, profile, expected, unmapped


def _graph(emulator: EmulatorProcess, path: str) -> list[dict[str, Any]]:
    from shared.adapters.graph.client import emulator_token

    headers = {"Authorization": "Bearer " + emulator_token().token}
    url: str | None = f"{emulator.base_url}/v1.0{path}"
    items: list[dict[str, Any]] = []
    for _ in range(100):
        if not url:
            break
        page = httpx.get(url, headers=headers, timeout=30)
        page.raise_for_status()
        body = page.json()
        items.extend(body["value"])
        url = body.get("@odata.nextLink")
    return items


def _assert_memberships_exactly_once(emulator: EmulatorProcess, expected: dict[str, set[str]]) -> int:
    legacy_of = {object_id: legacy_id for object_id, legacy_id in emulator.tenant_users()}
    groups = _graph(emulator, "/groups")
    per_name = Counter(g["displayName"] for g in groups)
    duplicate_groups = {n: c for n, c in per_name.items() if c > 1}
    assert not duplicate_groups, f"duplicate groups {len(duplicate_groups)} (want 0): {duplicate_groups}"
    assert set(per_name) == set(expected), f"groups in the tenant: {sorted(per_name)}"
    total = 0
    for group in groups:
        members = [m["id"] for m in _graph(emulator, f"/groups/{group['id']}/members?$top=999")]
        twice = [m for m, n in Counter(members).items() if n > 1]
        assert not twice, f"duplicate memberships {len(twice)} in {group['displayName']} (want 0)"
        got = {legacy_of[m] for m in members}
        want = expected[group["displayName"]]
        assert got == want, (
            f"{group['displayName']}: missing {len(want - got)}, extra {len(got - want)} (want 0 and 0): "
            f"{sorted(want - got)[:5]} {sorted(got - want)[:5]}"
        )
        assert str(group.get("uniqueName", "")).startswith("ciam-migrate-"), "a group we created must be tagged"
        total += len(members)
    return total


def _reports(state: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((state / "runs").glob("*/report.json"))]


def _assert_report(report: dict[str, Any], memberships: int, unmapped: int) -> None:
    groups = report["groups"]
    assert groups["memberships"] == memberships, (groups, memberships)
    assert groups["memberships_failed"] == 0 and groups["skipped"] == 0, groups
    assert groups["unmapped"] == {"legacy-only": unmapped}, groups
    assert report["counts"]["failed"] == 0, report["counts"]


def test_groups_redelivered_writes_duplicates_0(tmp_path: Path, emulator_process: Any, cli: Cli) -> None:
    """R1 for memberships: a second run of the export re-sends every membership; Graph's duplicate 400 reads
    back as in place, so both runs report the same figure and the tenant holds each membership once."""
    export, profile, expected, unmapped = _export(tmp_path)
    want = sum(len(v) for v in expected.values())
    emulator = emulator_process(time_scale=TIME_SCALE, seed=SEED)
    state = tmp_path / "state"
    args = [*run_args(export, emulator, state, time_scale=TIME_SCALE, chunk_size=CHUNK_SIZE), "--mapping", str(profile)]
    first = cli.run(args, timeout=180)
    assert first.returncode == 0, first.stderr[-2000:]
    assert f"Groups: {want} memberships" in " ".join(first.stdout.split()), first.stdout[-1000:]
    writes_after_first = emulator.stats()["memberships"]
    again = cli.run(args, timeout=180)  # after a finished run: a new run of the same export (cli/runs.py)
    assert again.returncode == 0, again.stderr[-2000:]
    assert len(_reports(state)) == 2, "the second run must be a run of its own"
    assert _assert_memberships_exactly_once(emulator, expected) == want == writes_after_first
    for report in _reports(state):
        _assert_report(report, want, unmapped)


def test_groups_kill9_at_random_points_duplicates_0_missing_0(tmp_path: Path, emulator_process: Any, cli: Cli) -> None:
    export, profile, expected, unmapped = _export(tmp_path)
    want = sum(len(v) for v in expected.values())
    rng = random.Random(SEED)
    emulator = emulator_process(time_scale=TIME_SCALE, seed=SEED, faults=f"latency-ms={LATENCY_MS}")
    state = tmp_path / "state"
    args = [*run_args(export, emulator, state, time_scale=TIME_SCALE, chunk_size=CHUNK_SIZE), "--mapping", str(profile)]
    logs = tmp_path / "cli"
    logs.mkdir()
    kills = []
    t0 = time.monotonic()
    for _ in range(KILLS):  # each kill waits for memberships beyond the last kill's: every kill is mid-import
        target = emulator.stats()["memberships"] + rng.randint(20, want // (KILLS + 3))
        if target >= want - 10:
            break
        proc = cli.spawn(args, out=logs / "out.log", err=logs / "err.log")
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline and emulator.stats()["memberships"] < target:
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.03))
        kills.append((target, emulator.stats()["memberships"], cli.kill9(proc), round(time.monotonic() - t0, 1)))
    print("kills (target, memberships at kill, killed):", kills)
    assert len(kills) >= 2 and all(k[2] for k in kills), f"a run ended before its kill point: {kills}"
    assert any(0 < k[1] < want for k in kills), f"no kill landed while memberships were being written: {kills}"
    final = cli.run(args, timeout=180)
    print("final run", round(final.seconds, 1), "s")
    assert final.returncode == 0, final.stderr[-2000:]
    assert _assert_memberships_exactly_once(emulator, expected) == want
    reports = _reports(state)
    assert len(reports) == 1, "a restart started a new run instead of resuming"
    _assert_report(reports[0], want, unmapped)


def test_groups_504_after_commit_duplicates_0_misclassified_0(tmp_path: Path, emulator_process: Any, cli: Cli) -> None:
    """R3/R28 for groups: item-level and whole-`$batch` 504s after the write committed, on group upserts,
    membership writes and reads alike."""
    export, profile, expected, unmapped = _export(tmp_path)
    want = sum(len(v) for v in expected.values())
    faults = "504-after-commit=0.15,batch-504-after-commit=0.15"
    emulator = emulator_process(time_scale=TIME_SCALE, seed=SEED, faults=faults)
    state = tmp_path / "state"
    args = [*run_args(export, emulator, state, time_scale=TIME_SCALE, chunk_size=CHUNK_SIZE), "--mapping", str(profile)]
    done = cli.run(args, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    injected = emulator.stats()["faults"]["injected"]
    assert injected.get("504-after-commit", 0) > 0 and injected.get("batch-504-after-commit", 0) > 0, injected
    httpx.post(f"{emulator.base_url}/_emulator/faults", json={}, timeout=10).raise_for_status()  # read back clean
    assert _assert_memberships_exactly_once(emulator, expected) == want
    reports = _reports(state)
    assert len(reports) == 1
    _assert_report(reports[0], want, unmapped)
