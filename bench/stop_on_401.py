"""How fast a refused credential stops `ciam-migrate run`: wall time from start to exit 2 on a Graph 401.

The emulator (its own process) knows the app only with a secret; `run --app ID` brings none, so Graph
answers 401. Each repetition is a fresh `ciam-migrate run` process (this checkout's code: PYTHONPATH is its
root, not the venv's editable install); printed: seconds to exit, exit code, and the process's CPU seconds.

    .venv/bin/python -m bench.stop_on_401 [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, emulator_process

APP = "dddddddd-4444-4444-8444-00000000000d"
SAMPLE = ROOT / "samples" / "users.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    cli = Path(sys.executable).parent / "ciam-migrate"
    with tempfile.TemporaryDirectory(prefix="ciam-401-") as tmp:
        apps = Path(tmp) / "client-apps.json"
        apps.write_text(json.dumps([{"client_id": APP, "secret": "bench-401-secret"}]), encoding="utf-8")
        seconds: list[float] = []
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        with emulator_process("--client-apps", str(apps)) as base:
            for n in range(args.repeat):
                started, cpu_before = time.perf_counter(), os.times()
                done = subprocess.run(
                    [str(cli), "run", str(SAMPLE), "--source", "jsonl", "--graph-url", base,
                     "--state", str(Path(tmp) / f"state-{n}"), "--app", APP],
                    cwd=ROOT, env=env, capture_output=True, timeout=60, check=False,
                )  # fmt: skip
                seconds.append(time.perf_counter() - started)
                cpu = sum(os.times()[2:4]) - sum(cpu_before[2:4])  # the child's user + system time
                print(f"run {n + 1}: exit {done.returncode} after {seconds[-1]:.2f}s ({cpu:.2f} CPU-s)", flush=True)
    print(f"median {statistics.median(seconds):.2f}s, max {max(seconds):.2f}s over {len(seconds)} runs")


if __name__ == "__main__":
    main()
