"""Waves end to end: `waves plan --percent` splits a 3,000-user export in 3, and `run --wave N` imports exactly
wave N's users into the emulator; after the three runs the tenant holds the whole export once (0 duplicates).

Wave membership is recomputed here from its documented rule (sha-256 of the legacy id, first 8 bytes, mod 10,000,
below the cumulative percentage in basis points), not read back from the code under test.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Cli, EmulatorProcess, run_args
from tests.e2e.exports import write_export

RECORDS = 3_000
TIME_SCALE = 1000
CHUNK_SIZE = 100
PERCENT = (20, 60, 100)


def wave_by_rule(legacy_id: str) -> int:
    bucket = int.from_bytes(hashlib.sha256(legacy_id.encode()).digest()[:8], "big") % 10_000
    return next(n for n, pct in enumerate(PERCENT, start=1) if bucket < pct * 100)


def wave_report(state: Path, wave: int) -> dict[str, Any]:
    (run,) = sorted((state / "runs").glob(f"*-w{wave}-01"))
    return json.loads((run / "report.json").read_text())  # type: ignore[no-any-return]


def tenant_legacy_ids(emulator: EmulatorProcess) -> Counter[str | None]:
    return Counter(legacy_id for _, legacy_id in emulator.tenant_users())


def test_three_waves_import_exactly_their_users_and_together_the_whole_export_once(
    tmp_path: Path, emulator_process: Any, cli: Cli
) -> None:
    export = write_export(tmp_path / "export.jsonl", RECORDS)
    emulator = emulator_process(time_scale=TIME_SCALE)
    state = tmp_path / "state"
    planned = cli.run(["waves", "plan", "--export", str(export.path), "--source", "jsonl", "--state", str(state),
                       "--percent", ",".join(map(str, PERCENT))])  # fmt: skip
    assert planned.returncode == 0, planned.stderr
    expected = {n: {lid for lid in export.valid if wave_by_rule(lid) == n} for n in (1, 2, 3)}
    listed = cli.run(["waves", "list", "--state", str(state), "--json"])
    plan = json.loads(listed.stdout)
    assert [w["number"] for w in plan["waves"]] == [1, 2, 3] and plan["unassigned"] == 0
    # waves plan counts every readable record of the export (rejects included) in its wave
    assert sum(w["planned_count"] for w in plan["waves"]) == RECORDS
    assert all(abs(len(expected[n]) / len(export.valid) - share) < 0.04 for n, share in ((1, 0.2), (2, 0.4), (3, 0.4)))

    imported: set[str] = set()
    rejected = 0
    for wave in (1, 2, 3):
        done = cli.run([*run_args(export.path, emulator, state, time_scale=TIME_SCALE, chunk_size=CHUNK_SIZE),
                        "--wave", str(wave)], timeout=180)  # fmt: skip
        assert done.returncode == 0, done.stderr + done.stdout
        assert f"wave {wave}" in done.stdout
        report = wave_report(state, wave)
        c = report["counts"]
        assert report["wave"] == wave
        assert (c["created"], c["already_present"], c["failed"]) == (len(expected[wave]), 0, 0), c
        assert c["total"] == c["created"] + c["rejected"] and c["total"] + c["other_wave"] == RECORDS, c
        assert c["total"] == plan["waves"][wave - 1]["planned_count"], (c, plan["waves"][wave - 1])
        rejected += c["rejected"]
        print(f"wave {wave}: created {c['created']} (expected {len(expected[wave])}), rejected {c['rejected']}, "
              f"other wave {c['other_wave']}")  # fmt: skip
        # the tenant gained exactly this wave's users, and nothing of the waves not yet run
        imported |= expected[wave]
        in_tenant = tenant_legacy_ids(emulator)
        assert set(in_tenant) == imported, sorted(set(in_tenant) ^ imported)[:10]

    in_tenant = tenant_legacy_ids(emulator)
    assert set(in_tenant) == export.valid
    assert max(in_tenant.values()) == 1, "duplicates in the tenant"
    assert rejected == export.rejected
    status = cli.run(["status", "--state", str(state), "--json"])
    assert sorted(r["wave"] for r in json.loads(status.stdout)["runs"]) == [1, 2, 3]
