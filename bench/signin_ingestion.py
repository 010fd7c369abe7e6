"""Does ingest_signins keep up with 50 sign-ins/s under the reporting API's 5 requests / 10 s cap?

50 sign-ins/s is a quarter of the tenant's 200 authentication requests/s. The tenant emulator runs in-process,
time-scaled (its reporting cap, 5 requests per 10 s per app, and the sign-in log's arrival delays shrink with
it); a producer writes sign-in log records at `--rate` per simulated second, each on the emulator's arrival
queue with the emulator's own delay model (2–5 min, `late_fraction` up to 30 min). ingest_signins runs every
`--interval` simulated seconds through the real GraphSignInLog, ReportingLimiter and SqliteMonitorStore.
Lag = the simulated seconds from a record becoming visible in the emulator's log (the moment its arrival queue
entry is due, taken on the emulator's own clock when it queues the record) to the page that counted it being
committed (ingest_signins counts each page as it arrives).
Printed: records written, counted, missed (visible before the last sweep could reach them yet not counted),
double counted, lag p50/p95/max for on-time and late records, requests, 429s from the emulator.
The late sweep first reads a range when it is 35 simulated minutes old: `missed` is judged only with
`--minutes` above 35 (e.g. `--minutes 45 --time-scale 25`, ~110 s; above ~10 the emulator in this process
becomes CPU-bound on 2 cores and the lag figures measure that instead).

    .venv/bin/python -m bench.signin_ingestion [--rate 50] [--minutes 18] [--time-scale 10] [--interval 30]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from emulator import EmulatorConfig, run_in_thread
from shared.adapters.graph.client import emulator_token
from shared.handlers.ingest_signins import IngestPorts, IngestSettings, ingest_signins
from shared.monitoring.metrics import MetricSink
from shared.monitoring.reporting_limiter import ReportingLimiter
from shared.monitoring.signin_log import GraphSignInLog
from shared.monitoring.sqlite_store import SqliteMonitorStore
from shared.telemetry import TallyTelemetry

READER_APP = "5eed0000-0000-4000-8000-00000000feed"


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) >= 2 else (values[0] if values else 0.0)


async def measure(args: argparse.Namespace, state: Path) -> dict[str, Any]:
    scale = float(args.time_scale)
    emulator = run_in_thread(EmulatorConfig(port=0, time_scale=scale, seed=args.seed))
    sim = emulator.server.config.sign_ins
    rng = random.Random(args.seed)
    visible_at: dict[str, float] = {}  # id -> real monotonic time it becomes visible
    late: set[str] = set()
    counted: dict[str, int] = {}
    lags: dict[str, float] = {}
    arrivals = emulator.server.tenant.arrivals
    loop = emulator._loop  # the arrival queue belongs to the emulator's loop: add to it there
    end = time.monotonic() + args.minutes * 60 / scale

    def queue(batch: list[tuple[dict[str, Any], float]]) -> None:  # on the emulator's loop, with its clock
        for record, delay in batch:
            arrivals.add(record, delay)
            visible_at[record["id"]] = time.monotonic() + delay

    def on_counted(ids: Sequence[str]) -> None:
        at = time.monotonic()
        for sign_in in ids:
            lags.setdefault(sign_in, max(0.0, (at - visible_at[sign_in]) * scale))

    async def produce() -> None:
        written_until = time.monotonic()
        while (now := time.monotonic()) < end:
            due = int((now - written_until) * scale * args.rate)
            if due:
                written_until += due / (scale * args.rate)
                batch = []
                for _ in range(due):
                    is_late = rng.random() < sim.late_fraction
                    delay = (rng.uniform(sim.arrival_delay_max_s, sim.late_delay_max_s) if is_late
                             else rng.uniform(sim.arrival_delay_min_s, sim.arrival_delay_max_s)) / scale  # fmt: skip
                    record = {"id": str(uuid.uuid4()), "userId": str(uuid.uuid4()), "appId": "app-a",
                              "createdDateTime": datetime.now(UTC).isoformat(timespec="milliseconds"),
                              "status": {"errorCode": 0 if rng.random() < 0.9 else 50126}}  # fmt: skip
                    if is_late:
                        late.add(record["id"])
                    batch.append((record, delay))
                loop.call_soon_threadsafe(queue, batch)
            await asyncio.sleep(0.02)

    store = SqliteMonitorStore(state / "monitor.db")
    requests = throttled = runs = 0
    async with httpx.AsyncClient(base_url=f"{emulator.base_url}/v1.0", timeout=60) as client:

        async def token() -> str:
            return emulator_token(READER_APP).token

        ports = IngestPorts(GraphSignInLog(client, token), store, ReportingLimiter(4, 10.0 / scale),
                            MetricSink(TallyTelemetry(), store), on_counted=on_counted)  # fmt: skip
        settings = IngestSettings(overlap_s=35 * 60 / scale, fresh_overlap_s=args.fresh_minutes * 60 / scale,
                                  first_lookback_s=60 / scale, min_slice_s=1 / scale,
                                  backoff_s=2 / scale)  # fmt: skip
        producer = asyncio.create_task(produce())
        run_seconds: list[float] = []
        while time.monotonic() < end:
            tick = time.monotonic()
            result = await ingest_signins(datetime.now(UTC), ports, settings)
            done = time.monotonic()
            run_seconds.append((done - tick) * scale)
            runs += 1
            requests += result.requests
            throttled += result.throttled
            for sign_in in result.new_ids:
                counted[sign_in] = counted.get(sign_in, 0) + 1
            await asyncio.sleep(max(0.0, tick + args.interval / scale - time.monotonic()))
        await producer
    store.close()
    stats = emulator.server.tenant.throttle.counters.get(READER_APP)
    emulator.stop()
    # A record can be required only if the last sweep could have read it: visible, and older than the overlap.
    horizon = end - settings.overlap_s - args.interval / scale
    required = [i for i, at in visible_at.items() if at <= horizon and i in visible_at]
    on_time = [lag for i, lag in lags.items() if i not in late]
    late_lags = [lag for i, lag in lags.items() if i in late]
    return {
        "written": len(visible_at), "counted": len(counted), "required": len(required),
        "missed": sum(1 for i in required if i not in counted),
        "double_counted": sum(1 for n in counted.values() if n > 1),
        "on_time_lag": (_pct(on_time, 50), _pct(on_time, 95), max(on_time, default=0.0)),
        "late_lag": (_pct(late_lags, 50), max(late_lags, default=0.0), len(late_lags)),
        "runs": runs, "run_s_max": max(run_seconds, default=0.0), "requests": requests, "throttled": throttled,
        "emulator_429": 0 if stats is None else stats.throttled_by.get("ReportingLimitExceeded", 0),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=50.0, help="sign-ins per simulated second")
    parser.add_argument("--minutes", type=float, default=18.0, help="simulated minutes (> 35: the sweep too)")
    parser.add_argument("--time-scale", type=float, default=10.0)
    parser.add_argument("--interval", type=float, default=30.0, help="simulated seconds between ingest runs")
    parser.add_argument("--fresh-minutes", type=float, default=5.1,
                        help="fresh slice back from the last run's start: the emulator's longest on-time arrival "
                             "delay (5 min) + 6 s; >= 35: one slice")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        r = asyncio.run(measure(args, Path(tmp)))
    p50, p95, worst = r["on_time_lag"]
    late50, late_max, late_n = r["late_lag"]
    print(f"{args.rate:g} sign-ins/s for {args.minutes:g} simulated min at time-scale {args.time_scale:g}, "
          f"ingest every {args.interval:g} s (fresh slice {args.fresh_minutes:g} min)")  # fmt: skip
    print(f"written {r['written']}, counted {r['counted']}; of {r['required']} the last sweep could reach: "
          f"missed {r['missed']}, double counted {r['double_counted']}")  # fmt: skip
    print(f"lag beyond arrival (simulated s), on-time records: p50 {p50:.1f}  p95 {p95:.1f}  max {worst:.1f}")
    print(f"lag beyond arrival, {late_n} late records counted in the run: p50 {late50:.0f}  max {late_max:.0f}")
    print(f"ingest runs {r['runs']} (longest {r['run_s_max']:.1f} simulated s), reporting requests "
          f"{r['requests']}, 429s seen {r['throttled']} (emulator counted {r['emulator_429']})")  # fmt: skip
    kept_up = r["counted"] > 0 and worst < 60 and r["missed"] == 0 and r["double_counted"] == 0
    print(f"keeps up: {'yes' if kept_up else 'NO'} (on-time max lag < 60 s, missed 0, double counted 0) · "
          f"{time.monotonic() - started:.0f} s real")  # fmt: skip


if __name__ == "__main__":
    main()
