"""`plan`'s import estimate vs the measured import, for an export whose users bring groups.

A generated jsonl export (each user in 0–3 of four legacy groups, three of them mapped one to one to Entra
groups, the fourth unmapped) is planned with `ciam-migrate plan` and imported with `ciam-migrate run` against
the tenant emulator (its own process, quota windows shortened --time-scale K times). The estimate is for the
real quota (20 writes/s per app); the measured import (report.json `import_seconds`, planned → finished) runs
at K times that, so it is compared after multiplying by K. Printed: the estimate's writes by kind, estimated
and measured seconds, the ratio, and whether it is within 10 %.

    .venv/bin/python -m bench.plan_estimate_groups [--users 5000] [--time-scale 20]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import ROOT, emulator_process

GROUPS = ("admins", "premium", "newsletter", "legacy-only")
PROFILE = """source = "jsonl"
[groups.map.admins]
group = "Shop admins"
[groups.map.premium]
group = "Premium customers"
[groups.map.newsletter]
group = "Newsletter"
"""


def write_export(path: Path, users: int, seed: int) -> int:
    """The export; returns the mapped memberships it holds."""
    rng = random.Random(seed)
    mapped = 0
    with path.open("w", encoding="utf-8") as fh:
        for n in range(users):
            groups = rng.sample(GROUPS, rng.randint(0, 3))
            mapped += sum(g != "legacy-only" for g in groups)
            fh.write(json.dumps({"legacyId": f"E{n:08d}", "email": f"e{n}@example.com", "groups": groups}) + "\n")
    return mapped


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "cli", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"ciam-migrate {args[0]} failed ({done.returncode}): {done.stderr[-1500:]}")
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--time-scale", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--without-groups", action="store_true", help="the same users, no [groups] table (baseline)")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        export, profile = work / "export.jsonl", work / "mapping.toml"
        mapped = write_export(export, opts.users, opts.seed)
        profile.write_text('source = "jsonl"\n' if opts.without_groups else PROFILE, encoding="utf-8")
        cli("plan", str(export), "--source", "jsonl", "--mapping", str(profile), "--out", str(work / "plan"))
        estimate = json.loads((work / "plan" / "plan.json").read_text())["estimate"]
        with emulator_process("--time-scale", str(opts.time_scale)) as base:
            cli("run", str(export), "--source", "jsonl", "--mapping", str(profile), "--graph-url", base,
                "--state", str(work / "state"), "--time-scale", str(opts.time_scale))  # fmt: skip
        report = json.loads(next((work / "state" / "runs").glob("*/report.json")).read_text())
    measured = report["throughput"]["import_seconds"] * opts.time_scale
    ratio = measured / estimate["seconds"] if estimate["seconds"] else float("nan")
    print(f"users {opts.users}, mapped memberships in the export {mapped}, time-scale {opts.time_scale:g}")
    print(f"plan estimate: {estimate['writes']} writes {estimate['writes_by_kind']} → {estimate['seconds']} s")
    in_place = report.get("groups", {}).get("memberships", 0)
    print(f"report: memberships in place {in_place}, created {report['counts']['created']}")
    print(f"measured import: {report['throughput']['import_seconds']:.1f} s × {opts.time_scale:g} = {measured:.0f} s")
    print(f"measured / estimate = {ratio:.3f} → {'within' if abs(ratio - 1) <= 0.10 else 'NOT within'} 10 %")


if __name__ == "__main__":
    main()
