"""Scale-out: N worker processes import one export against one emulator, with and without the shared quota.

Each worker stands for one Functions instance: it builds the import's Graph directory from Settings (as
every host does) and imports the chunks of the export that fall to it (chunk i goes to worker i mod N), a
throttled user going back after its Retry-After as a continuation would. With `--shared` the workers draw
from one SQLite quota store (the local form of the Table Storage buckets every instance shares in Azure);
without it each paces itself as if it were alone. Printed per cell: users/s ÷ the per-app quota the
emulator enforces, write requests/s ÷ quota (the pipelined utilisation), 429s, duplicates, each worker's
seconds to finish (an uneven split shows as a tail), and the shared-quota tokens drawn but left to expire
unspent (quota lost to leases).

    .venv/bin/python -m bench.scale_out [--users 8000] [--time-scale 20] [--latency-ms 120] [--workers 1,2,4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from bench.common import ROOT, emulator_process
from emulator import DEFAULT_EXTENSIONS_APP_ID
from shared.adapters.graph.lanes import build_directory
from shared.adapters.local.quota import SqliteQuotaStore
from shared.config import Settings, WriteQuota
from shared.records import ObjectIdentity, TargetUser

TENANT = "contoso.onmicrosoft.com"
APP = "bbbbbbbb-0000-4000-8000-000000000001"
CHUNK = 500
CELL_LIMIT_S = 60.0


def target(n: int) -> TargetUser:
    email = f"scale.{n:08d}@example.com"
    return TargetUser(
        legacy_id=f"s{n:08d}", display_name=f"Scale {n}", mail=email,
        identities=[ObjectIdentity(sign_in_type="emailAddress", issuer=TENANT, issuer_assigned_id=email)],
        password=SecretStr("Str0ng!Passw0rd-x"), password_path="reset",
    )  # fmt: skip


async def work(args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings(
        GRAPH_URL=args.base, TENANT=TENANT, APP_IDS=[APP], EXTENSIONS_APP_ID=DEFAULT_EXTENSIONS_APP_ID,
        WRITE_QUOTA=WriteQuota(time_scale=args.time_scale), SHARED_QUOTA=bool(args.quota_db),
    )  # fmt: skip
    store = SqliteQuotaStore(Path(args.quota_db)) if args.quota_db else None
    directory = build_directory(settings, store)
    chunks = [range(i, min(i + CHUNK, args.users)) for i in range(0, args.users, CHUNK)]
    mine = [c for i, c in enumerate(chunks) if i % args.of == args.worker]
    await asyncio.sleep(max(0.0, args.start_at - time.time()))
    counts = {"created": 0, "already_present": 0, "failed": 0, "unfinished": 0}
    deadline = args.start_at + CELL_LIMIT_S

    async def import_chunk(numbers: range) -> None:
        pending = [target(n) for n in numbers]
        while pending and time.time() < deadline:
            results = await directory.create_users(pending)
            again = {r.legacy_id for r in results if r.status in ("throttled", "transient")}
            for r in results:
                if r.status == "created":
                    counts["created"] += 1
                elif r.status == "conflict":
                    counts["already_present"] += 1
                elif r.legacy_id not in again:
                    counts["failed"] += 1
            wait = max((r.retry_after or 0.0 for r in results if r.legacy_id in again), default=0.0)
            pending = [u for u in pending if u.legacy_id in again]
            if pending:
                await asyncio.sleep(wait or 0.1)  # a continuation scheduled after Retry-After
        counts["unfinished"] += len(pending)

    for numbers in mine:  # one chunk at a time per instance, as one import-chunks invocation
        await import_chunk(numbers)
    finished = time.time()
    budgets = [lane.budget for lane in directory.lanes]
    drawn = sum(getattr(b, "tokens_drawn", 0) for b in budgets)
    expired = sum(getattr(b, "tokens_expired", 0.0) for b in budgets)
    await directory.close()
    if store is not None:
        store.close()
    return {**counts, "finished": finished, "started": args.start_at, "tokens_drawn": drawn, "tokens_expired": expired}


def cell(workers: int, shared: bool, args: argparse.Namespace, work_dir: Path) -> dict[str, Any]:
    latency = args.latency_ms / args.time_scale
    with emulator_process("--time-scale", str(args.time_scale), "--faults", f"latency-ms={latency}") as base:
        quota_db = str(work_dir / f"quota-{workers}-{int(shared)}.db") if shared else ""
        start_at = time.time() + 5.0  # every worker has imported and built its directory by then
        command = [sys.executable, "-m", "bench.scale_out", "--worker-of", str(workers), "--base", base,
                   "--users", str(args.users), "--time-scale", str(args.time_scale), "--start-at", str(start_at),
                   "--quota-db", quota_db]  # fmt: skip
        procs = [
            subprocess.Popen([*command, "--worker", str(k)], cwd=ROOT, stdout=subprocess.PIPE, env=dict(os.environ))
            for k in range(workers)
        ]
        results = [json.loads(p.communicate(timeout=CELL_LIMIT_S + 30)[0]) for p in procs]
        emulated = httpx.get(f"{base}/_emulator/stats", timeout=10).json()
    seconds = max(r["finished"] for r in results) - start_at
    quota = emulated["quotas"]["appWrites"]["limit"] / emulated["quotas"]["appWrites"]["windowSeconds"]
    app = emulated["apps"].get(APP, {"writes": 0, "throttled": 0})
    created = sum(r["created"] for r in results)
    present = sum(r["already_present"] for r in results)
    return {
        "workers": workers, "shared": shared, "seconds": round(seconds, 2), "quota_writes_per_s": quota,
        "created": created, "already_present": present, "failed": sum(r["failed"] for r in results),
        "unfinished": sum(r["unfinished"] for r in results),
        "throughput_ratio": round(created / seconds / quota, 3),
        "write_utilisation": round(app["writes"] / seconds / quota, 3),
        "writes": app["writes"], "throttled_429": app["throttled"],
        "share_429": round(app["throttled"] / max(app["writes"] + app["throttled"], 1), 4),
        "duplicates": emulated["users"] - args.users if created + present == args.users else None,
        # Per worker: seconds to finish its chunks, and shared-quota tokens it drew but let expire unspent.
        "worker_seconds": [round(r["finished"] - start_at, 2) for r in results],
        "tokens_expired": round(sum(r["tokens_expired"] for r in results)),
        "tokens_drawn": sum(r["tokens_drawn"] for r in results),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=8000, help="more than one quota window holds")
    parser.add_argument("--time-scale", type=float, default=20.0)
    parser.add_argument("--latency-ms", type=float, default=120.0, help="Graph-like latency before time-scaling")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--worker-of", dest="of", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    parser.add_argument("--start-at", dest="start_at", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--quota-db", dest="quota_db", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        print(json.dumps(asyncio.run(work(args))))
        return
    rows = []
    with tempfile.TemporaryDirectory(prefix="ciam-scale-") as tmp:
        for workers in (int(n) for n in args.workers.split(",")):
            for shared in (False, True):
                rows.append(cell(workers, shared, args, Path(tmp)))
                r = rows[-1]
                print(
                    f"N={r['workers']} shared={'yes' if r['shared'] else 'no ':<3} {r['created']:>6} created in"
                    f" {r['seconds']:>6.2f}s; throughput/quota {r['throughput_ratio']:.3f};"
                    f" writes/s÷quota {r['write_utilisation']:.3f}; 429s {r['throttled_429']} ({r['share_429']:.2%});"
                    f" duplicates {r['duplicates']}; unfinished {r['unfinished']}; worker seconds"
                    f" {r['worker_seconds']}; leased tokens expired {r['tokens_expired']} of {r['tokens_drawn']}",
                    flush=True,
                )
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
