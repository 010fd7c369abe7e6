"""What `run` spends before its plan stage: the format sniff and the blocking-constraint check, per source.

The check reads the export once for its bounds and plans it in full only when they cannot rule every blocker
out (cli.run_cmd.constraint_blockers); `--full` times the full plan it made before, for comparison. Prints wall
seconds, CPU seconds and the process's peak RSS so far (sources run one after another); a busy machine disturbs
CPU seconds least.

    .venv/bin/python -m bench.run_constraint_check [--sources jsonl,auth0] [--size 100000] [--full]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from bench.exports import export_name, write_export


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", default="jsonl,auth0")
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--full", action="store_true", help="time the full plan instead of the bounded check")
    args = parser.parse_args()

    from cli.plan_cmd import DEFAULT_TENANT
    from cli.run_cmd import constraint_blockers
    from shared.entra_limits import OBJECT_QUOTA
    from shared.planning import plan_document, plan_export
    from shared.profiles import load_profile
    from shared.sniff import check_export

    print(f"{'source':<10} {'users':>9} {'check':>6} {'seconds':>8} {'CPU-s':>7} {'peak RSS MB':>12}")
    with tempfile.TemporaryDirectory() as tmp:
        for source in args.sources.split(","):
            export = Path(tmp) / export_name(source, args.size, compress=False)
            mapping = write_export(source, export, args.size, compress=False)
            profile = load_profile(source, mapping)
            wall, cpu = time.perf_counter(), time.process_time()
            check_export(export, source, profile, mapping)
            if args.full:
                plan_document(plan_export(export, profile, tenant=DEFAULT_TENANT), object_quota=OBJECT_QUOTA)
            else:
                constraint_blockers(export, profile, None, OBJECT_QUOTA, [])
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            kind = "full" if args.full else "bounds"
            print(f"{source:<10} {args.size:>9,} {kind:>6} {wall:>8.2f} {cpu:>7.2f} {rss:>12.1f}")


if __name__ == "__main__":
    main()
