"""Benchmark: `plan` over a generated export of every source; records/s and peak RSS for each.

Each (source, size) runs in a fresh child process so peak RSS (ru_maxrss) belongs to that plan alone;
the exports come from bench/exports.py (the same population in each vendor's format). The duplicate
guards grow with size (~16-32 bytes per legacy id and sign-in name); everything else is constant.
Goal: ≥ 50,000 records/s on one core, for every source. Every source goes the one planning path
(reader → LegacyUser → shared.mapping.decide → admission); `reads` is how often the export was read
(1 unless its attributes mix dataTypes, then 3: a stopped read, types, plan; `--types-first`
forces 2, the way planning read before).
The 1-minute load average before and after each plan is printed: other work on the machine slows it;
`per CPU-s` (records per second of this process's CPU time) is the figure a busy machine disturbs least.

    .venv/bin/python -m bench.plan_throughput [--sources auth0,okta] [--sizes 100000] [--gzip] [--types-first]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.exports import FORMATS, export_name, write_export

GOAL = 50_000


def measure(source: str, export: Path, mapping: Path | None, *, types_first: bool = False) -> dict[str, float]:
    """Runs in the child: plan the export, report records/s and peak RSS."""
    from shared.planning import plan_document
    from shared.planning.run import plan_export
    from shared.profiles import load_profile

    profile = load_profile(source, mapping)
    started, cpu_started = time.perf_counter(), time.process_time()
    result = plan_export(export, profile, tenant="contoso.onmicrosoft.com", apps=1, types_first=types_first)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    doc = plan_document(result)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "records": doc["total"],
        "valid": doc["valid"],
        "seconds": round(elapsed, 2),
        "records_per_s": round(doc["total"] / elapsed),
        "cpu_seconds": round(cpu, 2),
        "records_per_cpu_s": round(doc["total"] / cpu),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "guard_mb": round(result.guard_bytes / 2**20, 1),
        "reads": result.reads,
    }


def _child(source: str, export: Path, mapping: Path | None, types_first: bool) -> dict[str, float]:
    command = [sys.executable, "-m", "bench.plan_throughput", "--measure", str(export), "--sources", source]
    command += ["--mapping", str(mapping)] if mapping else []
    command += ["--types-first"] if types_first else []
    child = subprocess.run(command, check=True, capture_output=True, text=True)
    row: dict[str, float] = json.loads(child.stdout.strip().splitlines()[-1])
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", default=",".join(FORMATS), help="comma-separated; default: every source")
    parser.add_argument("--sizes", default="100000", help="users per export, comma-separated")
    parser.add_argument("--gzip", action="store_true", help="compress the generated exports")
    parser.add_argument("--types-first", action="store_true", help="read every export twice, attribute types first")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--mapping", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.sources, args.measure, args.mapping, types_first=args.types_first)))
        return
    rows = []
    with tempfile.TemporaryDirectory(prefix="plan-bench-") as tmp:
        for source in args.sources.split(","):
            for size in (int(s) for s in args.sizes.split(",")):
                export = Path(tmp) / export_name(source, size, compress=args.gzip)
                mapping = write_export(source, export, size, compress=args.gzip)
                load_before = os.getloadavg()[0]
                row: dict[str, object] = {"source": source, **_child(source, export, mapping, args.types_first)}
                row["file_mb"] = round(export.stat().st_size / 2**20, 1)
                row["load"] = f"{load_before:.2f}/{os.getloadavg()[0]:.2f}"
                rows.append(row)
                export.unlink()
    path = "attribute types over a first read" if args.types_first else "plan as shipped"
    print(f"plan, {path}; {os.cpu_count()} CPUs; load = 1-minute load average before/after")
    header = ("source", "users", "file MB", "seconds", "records/s", "per CPU-s", "peak RSS MB", "guard MB", "reads",
              "load")  # fmt: skip
    line = "{:<9} {:>9} {:>8} {:>8} {:>10} {:>10} {:>12} {:>9} {:>7} {:>11}"
    print(line.format(*header))
    for r in rows:
        counts = (
            f"{r['records']:,}",
            r["file_mb"],
            r["seconds"],
            f"{r['records_per_s']:,}",
            f"{r['records_per_cpu_s']:,}",
        )
        print(line.format(r["source"], *counts, r["peak_rss_mb"], r["guard_mb"], r["reads"], r["load"]))
    below = [f"{r['source']} ({r['records_per_cpu_s']:,})" for r in rows if int(str(r["records_per_cpu_s"])) < GOAL]
    verdict = "met by every source" if not below else "NOT met by " + ", ".join(below)
    print(f"goal ≥ {GOAL:,} records per CPU-second (one core): {verdict}")


if __name__ == "__main__":
    main()
