"""Benchmark: `plan` over generated Auth0 exports of two sizes; records/s and peak RSS for each.

Each size runs in a fresh child process so peak RSS (ru_maxrss) belongs to that size alone. The
difference between sizes is the duplicate guards (~16-32 bytes per legacy id and sign-in name);
everything else is constant. Goal: ≥ 50,000 records/s on one core. `fast %` is the share of records
planning counted on its fast path (shared/planning/fast.py); `--reference` plans every record through
LegacyUser and map_user instead (the path before the fast one), for a before/after on the same machine.
The 1-minute load average before and after each size is printed: other work on the machine slows it.

    .venv/bin/python -m bench.plan_throughput [--sizes 200000,1000000] [--gzip] [--reference]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEMPLATE_HASH = "$2b$10$" + "N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"[:53]


def generate(path: Path, users: int, *, compress: bool) -> None:
    """An Auth0 user-export NDJSON: mostly database users with bcrypt hashes, some social, a few bad."""
    opener = gzip.open if compress else open
    with opener(path, "wt", encoding="utf-8") as out:
        for i in range(users):
            social = i % 10 == 0
            record: dict[str, object] = {
                "user_id": f"google-oauth2|{10**17 + i}" if social else f"auth0|{i:024x}",
                "email": f"user{i}@example.com" if i % 1000 else f"user{i}-at-example.com",
                "email_verified": i % 3 != 0,
                "name": f"User Number{i}",
                "given_name": "User",
                "family_name": f"Number{i}",
                "created_at": "2021-03-04T10:11:12.000Z",
                "updated_at": "2024-01-02T08:00:00.000Z",
                "logins_count": i % 50,
                "identities": [
                    {
                        "provider": "google-oauth2",
                        "user_id": str(10**17 + i),
                        "connection": "google-oauth2",
                        "isSocial": True,
                    }
                    if social
                    else {
                        "provider": "auth0",
                        "user_id": f"{i:024x}",
                        "connection": "Username-Password-Authentication",
                        "isSocial": False,
                    }
                ],
                "user_metadata": {"loyalty_tier": ("gold", "silver", "bronze")[i % 3], "newsletter": i % 2 == 0},
            }
            if not social:
                record["passwordHash"] = TEMPLATE_HASH
            if i % 7 == 0:
                record["phone_number"] = f"+1415555{i % 10000:04d}"
            out.write(json.dumps(record, separators=(",", ":")) + "\n")


def measure(export: Path, *, reference: bool = False) -> dict[str, float]:
    """Runs in the child: plan the export, report records/s and peak RSS."""
    from shared.planning import plan_document
    from shared.planning.run import plan_export
    from shared.profiles import load_profile

    profile = load_profile("auth0")
    started = time.perf_counter()
    result = plan_export(export, profile, tenant="contoso.onmicrosoft.com", apps=1, fast=not reference)
    elapsed = time.perf_counter() - started
    doc = plan_document(result)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "records": doc["total"],
        "valid": doc["valid"],
        "seconds": round(elapsed, 2),
        "records_per_s": round(doc["total"] / elapsed),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "guard_mb": round(result.guard_bytes / 2**20, 1),
        "fast_pct": round(100 * result.fast_records / max(doc["total"], 1), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200000,1000000")
    parser.add_argument("--gzip", action="store_true", help="compress the generated exports")
    parser.add_argument("--reference", action="store_true", help="plan without the fast path (before/after)")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, reference=args.reference)))
        return
    with tempfile.TemporaryDirectory(prefix="plan-bench-") as tmp:
        rows = []
        for size in (int(s) for s in args.sizes.split(",")):
            export = Path(tmp) / f"auth0-{size}.ndjson{'.gz' if args.gzip else ''}"
            generate(export, size, compress=args.gzip)
            mb = export.stat().st_size / 2**20
            load_before = os.getloadavg()[0]
            child = subprocess.run(
                [sys.executable, "-m", "bench.plan_throughput", "--measure", str(export)]
                + (["--reference"] if args.reference else []),
                check=True,
                capture_output=True,
                text=True,
            )
            row = json.loads(child.stdout.strip().splitlines()[-1])
            row["file_mb"] = round(mb, 1)
            row["load"] = f"{load_before:.2f}/{os.getloadavg()[0]:.2f}"
            rows.append(row)
            export.unlink()
    path = "reference (LegacyUser + map_user for every record)" if args.reference else "fast path"
    print(f"plan, {path}; {os.cpu_count()} CPUs; load = 1-minute load average before/after")
    header = ("users", "file MB", "seconds", "records/s", "peak RSS MB", "guard MB", "fast %", "load")
    print("{:>10} {:>8} {:>8} {:>10} {:>12} {:>9} {:>7} {:>11}".format(*header))
    for r in rows:
        figures = (r["records"], r["file_mb"], r["seconds"], r["records_per_s"], r["peak_rss_mb"], r["guard_mb"])
        print("{:>10,} {:>8} {:>8} {:>10,} {:>12} {:>9} {:>7} {:>11}".format(*figures, r["fast_pct"], r["load"]))
    goal = 50_000
    slowest = min(r["records_per_s"] for r in rows)
    print(f"goal ≥ {goal:,} records/s on one core: {'met' if slowest >= goal else 'NOT met'} (slowest {slowest:,})")


if __name__ == "__main__":
    main()
