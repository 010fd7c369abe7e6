"""Change-to-Entra latency of the coexistence sync at a steady change rate, with a bulk import sharing the quota.

A baseline of users is imported first (untimed). Then, against the tenant emulator (its own process, Graph-like
latency), a second bulk import runs into the same tenant (SYNC_ENABLED: it leaves SYNC_WRITE_SHARE of the
quota to the sync) while a producer appends `--rate` changes per second to a changes.jsonl drop and `sync --every`
applies them. Latency = from the line being appended to Graph's answer to the PATCH that carries it. Printed:
p50 / p95 / max, changes applied, the import's users/s during the window and the share of writes answered 429.

    .venv/bin/python -m bench.sync_latency [--rate 10] [--seconds 30] [--time-scale 1] [--share SYNC_WRITE_SHARE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import emulator_process, write_users
from cli.run_cmd import execute_run
from emulator import DEFAULT_EXTENSIONS_APP_ID
from shared.config import Settings, WriteQuota
from shared.sync.drop import ChangeDrop
from shared.sync.local import open_local_sync

TENANT = "contoso.onmicrosoft.com"


def settings(base: str, state: Path, scale: float, share: float, **extra: Any) -> Settings:
    return Settings(STATE_DIR=str(state), GRAPH_URL=base, TENANT=TENANT, EXTENSIONS_APP_ID=DEFAULT_EXTENSIONS_APP_ID,
                    WRITE_QUOTA=WriteQuota(time_scale=scale), SYNC_WRITE_SHARE=share, **extra)  # fmt: skip


async def measure(base: str, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    baseline = work / "baseline.jsonl"
    write_users(baseline, args.baseline, "s")
    sync_settings = settings(base, work / "sync-state", args.time_scale, args.share)
    await execute_run(baseline, "jsonl", sync_settings, show_progress=False)
    wave = work / "wave.jsonl"
    write_users(wave, args.import_users, "w")
    import_settings = settings(base, work / "import-state", args.time_scale, args.share, SYNC_ENABLED=True)
    drop = work / "changes.jsonl"
    drop.write_text("")
    appended: dict[str, float] = {}
    applied: dict[str, float] = {}
    stop = asyncio.Event()
    before = httpx.get(f"{base}/_emulator/stats", timeout=10).json()

    async with open_local_sync(sync_settings, "jsonl") as local:
        directory = local.side.directory
        original = directory.update_user

        async def timed_update(object_id: str, patch: dict[str, Any]) -> None:
            await original(object_id, patch)
            marker = str(patch.get("surname", ""))
            if marker.startswith("seq") and marker not in applied:
                applied[marker] = time.perf_counter()

        directory.update_user = timed_update  # type: ignore[method-assign]
        drop_feed = ChangeDrop(drop, local.side.store, local.side.sealer)
        host = local.host(drop_feed, drop_feed)
        sync_task = asyncio.create_task(host.run(every=args.every, once=False, stop=stop))
        import_task = asyncio.create_task(execute_run(wave, "jsonl", import_settings, show_progress=False))
        rng = random.Random(1)
        started = time.perf_counter()
        total = int(args.rate * args.seconds)
        for seq in range(1, total + 1):  # bounded by count; paced to the rate
            await asyncio.sleep(max(0.0, started + seq / args.rate - time.perf_counter()))
            n = rng.randrange(args.baseline)
            marker = f"seq{seq}"
            record = {"legacyId": f"s{n:08d}", "email": f"s.user.{n}@example.com", "givenName": "Bench",
                      "surname": marker, "attributes": {"tier": "gold"}, "op": "update", "seq": seq}  # fmt: skip
            with drop.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(record) + "\n")
            appended[marker] = time.perf_counter()
        deadline = time.perf_counter() + 60  # bounded wait for the tail
        while len(applied) < len(appended) and time.perf_counter() < deadline:
            await asyncio.sleep(0.1)
        window = time.perf_counter() - started
        after = httpx.get(f"{base}/_emulator/stats", timeout=10).json()
        stop.set()
        await sync_task
        import_task.cancel()
        await asyncio.gather(import_task, return_exceptions=True)
    imported = after["users"] - before["users"]
    writes = sum(a["writes"] for a in after["apps"].values()) - sum(a["writes"] for a in before["apps"].values())
    throttled = sum(a["throttled"] for a in after["apps"].values()) - sum(
        a["throttled"] for a in before["apps"].values()
    )
    latencies = sorted(applied[m] - appended[m] for m in applied)
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    quota = after["quotas"]["appWrites"]["limit"] / after["quotas"]["appWrites"]["windowSeconds"]
    return {
        "rate": args.rate, "changes": len(appended), "applied": len(applied),
        "p50_s": round(quantiles[49], 3), "p95_s": round(quantiles[94], 3), "max_s": round(latencies[-1], 3),
        "import_users_per_s": round(imported / window, 1), "quota_writes_per_s": quota,
        "sync_share_writes_per_s": round(quota * args.share, 1), "share_429": round(throttled / max(writes, 1), 4),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=10.0, help="legacy changes per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument("--share", type=float, default=Settings().SYNC_WRITE_SHARE, help="SYNC_WRITE_SHARE")
    parser.add_argument("--every", type=float, default=0.5, help="poll interval (s)")
    parser.add_argument("--latency-ms", type=float, default=100.0, help="Graph-like latency per answer")
    parser.add_argument("--baseline", type=int, default=500, help="users imported before the window")
    parser.add_argument("--import-users", type=int, default=5000, help="the bulk import running beside the sync")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ciam-bench-") as tmp, emulator_process(
        "--time-scale", str(args.time_scale), "--faults", f"latency-ms={args.latency_ms / args.time_scale}"
    ) as base:  # fmt: skip
        result = asyncio.run(measure(base, Path(tmp), args))
    print(f"{result['applied']}/{result['changes']} changes at {result['rate']:g}/s: change-to-Entra latency "
          f"p50 {result['p50_s']}s, p95 {result['p95_s']}s, max {result['max_s']}s; bulk import beside it "
          f"{result['import_users_per_s']} users/s; quota {result['quota_writes_per_s']:.0f} writes/s, sync share "
          f"{result['sync_share_writes_per_s']} writes/s; 429s {result['share_429']:.2%}")  # fmt: skip
    print(json.dumps(result))


if __name__ == "__main__":
    main()
