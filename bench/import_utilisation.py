"""Does the write budget ever idle? `ciam-migrate run` against the emulator, sampled from outside.

For each (apps, time-scale) cell, a generated export (one user in `--plaintext-every` carrying a
plaintext password Entra refuses, so the import derives its JIT hash) is imported by the real CLI in
its own process against the tenant emulator (its own process, `--faults latency-ms=L`: every answer
delayed L ms as measured, not scaled). The bench polls the emulator's per-app write counters and the
`run` process's CPU time (/proc) and prints, per cell:
  * utilisation: user writes/s ÷ the quota the emulator enforces, from the first write to the last
    (the steady state: chunk boundaries, ledger and vault writes included), and over the whole import
    (first write → process exit is the tail; process start → first write is `start s`);
  * 429 share: throttled answers ÷ all write answers;
  * CPU: the `run` process's CPU seconds ÷ wall seconds between the first and the last write (and the
    emulator's, with the machine's load average: on a shared machine both processes wait for a core).

    .venv/bin/python -m bench.import_utilisation [--users 6000] [--time-scale 10,20] [--latency-ms 12]
        [--plaintext-every 7] [--apps 1,3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.common import ROOT, emulator_process

TENANT = "contoso.onmicrosoft.com"
APPS = [f"bbbbbbbb-0000-4000-8000-00000000000{n}" for n in range(1, 4)]
WEAK_PASSWORD = "password"  # one character class: Entra refuses it, so the user keeps it through JIT
POLL_S = 0.1
CELL_LIMIT_S = 600.0
TICKS = os.sysconf("SC_CLK_TCK")


def write_export(path: Path, users: int, plaintext_every: int) -> None:
    """Clean jsonl users; every `plaintext_every`-th one (0: none) has a plaintext password Entra refuses."""
    with path.open("w", encoding="utf-8") as f:
        for n in range(users):
            record: dict[str, Any] = {
                "legacyId": f"u{n:08d}", "email": f"u.{n}@example.com", "givenName": "Bench", "surname": f"U{n}",
            }  # fmt: skip
            if plaintext_every and n % plaintext_every == 0:
                record["password"] = {"plaintext": f"{WEAK_PASSWORD}{n}"}
            f.write(json.dumps(record) + "\n")


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a live process (Linux /proc), None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS


def children() -> list[int]:
    """This process's child pids (the emulator, the `run` process)."""
    found: list[int] = []
    for task in Path("/proc/self/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


@dataclass
class Samples:
    """(seconds since start, writes, throttled, run CPU s, emulator CPU s) as the poller saw them."""

    rows: list[tuple[float, int, int, float, float]] = field(default_factory=list)


def poll(base: str, pid: int, emulator: int, started: float, stop: threading.Event, samples: Samples) -> None:
    with httpx.Client(timeout=10) as client:
        while not stop.is_set():
            cpu, emulator_cpu = cpu_seconds(pid), cpu_seconds(emulator)
            apps = client.get(f"{base}/_emulator/stats").json()["apps"].values()
            if cpu is not None:
                samples.rows.append((time.monotonic() - started, sum(a["writes"] for a in apps),
                                     sum(a["throttled"] for a in apps), cpu, emulator_cpu or 0.0))  # fmt: skip
            stop.wait(POLL_S)


def cell(users: int, apps: int, scale: float, latency_ms: float, plaintext_every: int, work: Path) -> dict[str, Any]:
    export = work / f"export-{apps}-{scale:g}.jsonl"
    write_export(export, users, plaintext_every)
    state = work / f"state-{apps}-{scale:g}"
    with emulator_process("--time-scale", str(scale), "--faults", f"latency-ms={latency_ms}") as base:
        quota = httpx.get(f"{base}/_emulator/stats", timeout=10).json()["quotas"]["appWrites"]
        per_s = quota["limit"] / quota["windowSeconds"] * apps
        command = [sys.executable, "-m", "cli", "run", str(export), "--source", "jsonl", "--graph-url", base,
                   "--tenant", TENANT, "--state", str(state), "--time-scale", str(scale), "--chunk-size", "500",
                   *[a for app in APPS[:apps] for a in ("--app", app)]]  # fmt: skip
        [emulator] = children()
        started = time.monotonic()
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        samples, stop = Samples(), threading.Event()
        poller = threading.Thread(target=poll, args=(base, process.pid, emulator, started, stop, samples), daemon=True)
        poller.start()
        try:
            output, _ = process.communicate(timeout=CELL_LIMIT_S)
        finally:
            process.kill()
            ended = time.monotonic() - started
            stop.set()
            poller.join(10)
        final = httpx.get(f"{base}/_emulator/stats", timeout=10).json()["apps"].values()
    writes, throttled = sum(a["writes"] for a in final), sum(a["throttled"] for a in final)
    if process.returncode != 0 or writes < users:
        raise SystemExit(f"run failed (exit {process.returncode}, {writes} writes):\n{output}")
    rows = samples.rows
    first = next(r for r in rows if r[1] > 0)
    last = next(r for r in rows if r[1] >= users)  # every create written (a 429'd one is re-sent until it is)
    steady_s = max(last[0] - first[0], 1e-6)
    return {
        "apps": apps, "time_scale": scale, "users": users, "quota_writes_per_s": per_s,
        "start_s": round(first[0], 2),
        "utilisation": round((last[1] - first[1]) / steady_s / per_s, 3),
        "utilisation_to_exit": round(writes / max(ended - first[0], 1e-6) / per_s, 3),
        "share_429": round(throttled / max(writes + throttled, 1), 4),
        "cpu_share": round((last[3] - first[3]) / steady_s, 3),
        "emulator_cpu_share": round((last[4] - first[4]) / steady_s, 3),
        "load_average": round(os.getloadavg()[0], 1),
        "write_seconds": round(steady_s, 2),
    }  # fmt: skip


def numbers(text: str) -> list[float]:
    return [float(part) for part in text.split(",") if part]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=6000, help="users per cell (the same for 1 and 3 apps)")
    parser.add_argument("--time-scale", default="10,20", help="emulator time-scales, comma-separated")
    parser.add_argument("--latency-ms", type=float, default=12.0, help="emulator latency per answer, as measured")
    parser.add_argument("--plaintext-every", type=int, default=7, help="every N-th user has a weak plaintext; 0 none")
    parser.add_argument("--apps", default="1,3", help="app registrations per cell, comma-separated")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="ciam-bench-") as tmp:
        for apps in (int(a) for a in numbers(args.apps)):
            for scale in numbers(args.time_scale):
                r = cell(args.users, apps, scale, args.latency_ms, args.plaintext_every, Path(tmp))
                results.append(r)
                print(
                    f"apps {apps} time-scale {scale:>4g}: utilisation {r['utilisation']:.3f} "
                    f"(to exit {r['utilisation_to_exit']:.3f}); 429s {r['share_429']:.2%}; CPU {r['cpu_share']:.0%} "
                    f"of a core; {r['write_seconds']:.1f} s writing at {r['quota_writes_per_s']:.0f}/s quota; "
                    f"first write {r['start_s']:.1f} s after start; emulator CPU {r['emulator_cpu_share']:.0%}; "
                    f"load average {r['load_average']:g} on {os.cpu_count()} cores",
                    flush=True,
                )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
