"""Scale-out: N worker processes drain one import-chunks queue against one emulator, with and without the shared quota.

Each worker stands for one Functions instance: it builds the import's Graph directory from Settings (as every
host does) and takes ImportChunk messages from ONE queue all workers share (the local SqliteQueue in one state
database, peek-lock as Service Bus), up to host.json's `maxConcurrentCalls` at a time, so a slow worker takes
fewer chunks instead of leaving a tail. A user Graph throttles past the inline retry budget goes back as a
continuation scheduled after its Retry-After, as import_chunk does. With `--shared` cells the workers draw from
one quota store: the state's SQLite database (`--store sqlite`, the local form) or a Table in Azurite (`--store
table`, the form every Functions instance shares in Azure); without it each paces itself as if it were alone.

Printed per cell: write requests/s ÷ the per-app quota the emulator enforces (writes ÷ seconds ÷ (limit ÷ window);
the shared log's long-run ceiling is headroom × window ÷ (window + lease) = 0.967, a run of a few windows reads a
little higher because its first window's allowance is granted up front), 429s, duplicates, chunks per worker,
and shared-quota tokens drawn but left to expire unspent (quota lost to leases).

    .venv/bin/python -m bench.scale_out [--users 8000] [--time-scale 20] [--latency-ms 120] [--workers 1,2,4]
                                        [--store sqlite|table] [--shared-only]
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
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from bench.common import ROOT, azurite_tables, emulator_process
from emulator import DEFAULT_EXTENSIONS_APP_ID
from shared.adapters.graph.lanes import build_directory
from shared.adapters.graph.quota_lease import QuotaStore
from shared.adapters.local.db import connect
from shared.adapters.local.queue import SqliteQueue
from shared.adapters.local.quota import SqliteQuotaStore
from shared.adapters.quota_table import TableQuotaStore
from shared.config import Settings, WriteQuota
from shared.messages import Envelope, ImportChunk, envelope_id
from shared.records import ObjectIdentity, TargetUser

TENANT = "contoso.onmicrosoft.com"
APP = "bbbbbbbb-0000-4000-8000-000000000001"
RUN = "scale"
QUEUE = "import-chunks"
CHUNK = 500
CELL_LIMIT_S = 90.0
OPEN_USERS = "CREATE TABLE IF NOT EXISTS bench_open_users (n INTEGER PRIMARY KEY, chunk INTEGER NOT NULL)"


def target(n: int) -> TargetUser:
    email = f"scale.{n:08d}@example.com"
    return TargetUser(
        legacy_id=f"s{n:08d}", display_name=f"Scale {n}", mail=email,
        identities=[ObjectIdentity(sign_in_type="emailAddress", issuer=TENANT, issuer_assigned_id=email)],
        password=SecretStr("Str0ng!Passw0rd-x"), password_path="reset",
    )  # fmt: skip


def max_concurrent_calls() -> int:
    """How many messages one Functions instance handles at once (host.json), as the host would."""
    host = json.loads((ROOT / "host.json").read_text(encoding="utf-8"))
    return int(host["extensions"]["serviceBus"]["maxConcurrentCalls"])


def enqueue(db: Path, users: int) -> int:
    """The export's chunks as ImportChunk messages on one queue, and each chunk's users still open (the ledger)."""
    queue = SqliteQueue(db)
    chunks = range((users + CHUNK - 1) // CHUNK)
    queue.send_now([
        Envelope(id=envelope_id(RUN, "import", f"c{i:05d}"), queue=QUEUE,
                 payload=ImportChunk(run_id=RUN, source="jsonl", chunk_id=f"c{i:05d}"))
        for i in chunks
    ])  # fmt: skip
    queue.close()
    ledger = connect(db)  # the same state database: the workers' "ledger" of users not yet settled
    ledger.execute(OPEN_USERS)
    ledger.executemany("INSERT INTO bench_open_users VALUES (?, ?)", ((n, n // CHUNK) for n in range(users)))
    ledger.close()
    return len(chunks)


async def work(args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings(
        GRAPH_URL=args.base, TENANT=TENANT, APP_IDS=[APP], EXTENSIONS_APP_ID=DEFAULT_EXTENSIONS_APP_ID,
        WRITE_QUOTA=WriteQuota(time_scale=args.time_scale), SHARED_QUOTA=args.shared,
    )  # fmt: skip
    db = Path(args.db)
    queue = SqliteQueue(db)
    ledger = connect(db)
    store: QuotaStore | None = None
    if args.shared:
        store = TableQuotaStore.from_connection_string(args.tables, "quota") if args.tables else SqliteQuotaStore(db)
    directory = build_directory(settings, store)
    counts = {"created": 0, "already_present": 0, "failed": 0, "continuations": 0, "chunks": 0}
    print("ready", flush=True)
    start_at = float(sys.stdin.readline())  # every worker is ready: they start together
    await asyncio.sleep(max(0.0, start_at - time.time()))
    deadline = start_at + CELL_LIMIT_S
    last_done = start_at

    async def handle(command: ImportChunk) -> float | None:
        """Create the chunk's open users; the Retry-After of those still throttled (None: chunk done)."""
        chunk = int(command.chunk_id[1:])
        numbers = [n for (n,) in ledger.execute("SELECT n FROM bench_open_users WHERE chunk = ?", (chunk,))]
        results = await directory.create_users([target(n) for n in numbers])
        settled = []
        for r in results:
            if r.status in ("throttled", "transient"):
                continue
            outcome = {"created": "created", "conflict": "already_present"}.get(r.status, "failed")
            counts[outcome] += 1
            settled.append((int(r.legacy_id[1:]),))
        ledger.executemany("DELETE FROM bench_open_users WHERE n = ?", settled)
        open_ = [r.retry_after or 1.0 for r in results if r.status in ("throttled", "transient")]
        return max(open_) if open_ else None

    async def consumer() -> None:
        nonlocal last_done
        while time.time() < deadline:
            received = queue.receive([QUEUE])  # one short transaction; nothing else on this connection meanwhile
            if received is None:
                if not queue.open_by_queue().get(QUEUE):
                    return  # drained (no message ready, scheduled or held by another worker)
                await asyncio.sleep(min(queue.next_visible_in([QUEUE]) or 0.02, 0.05))
                continue
            assert received.envelope is not None and isinstance(received.envelope.payload, ImportChunk)
            command = received.envelope.payload
            wait = await handle(command)
            follow: list[Envelope] = []
            if wait is not None:  # a continuation after Retry-After, never a redelivery spin
                counts["continuations"] += 1
                nxt = command.model_copy(update={"attempt": command.attempt + 1})
                follow = [Envelope(id=envelope_id(RUN, "import", command.chunk_id, nxt.attempt), queue=QUEUE,
                                   not_before=_after(wait), payload=nxt)]  # fmt: skip
            else:
                counts["chunks"] += 1
            queue.complete(received, follow)
            last_done = time.time()

    await asyncio.gather(*(consumer() for _ in range(args.calls)))
    budgets = [lane.budget for lane in directory.lanes]
    drawn = sum(getattr(b, "tokens_drawn", 0) for b in budgets)
    expired = sum(getattr(b, "tokens_expired", 0.0) for b in budgets)
    await directory.close()
    if isinstance(store, TableQuotaStore):
        await store.close()
    elif isinstance(store, SqliteQuotaStore):
        store.close()
    queue.close()
    ledger.close()
    return {**counts, "finished": last_done, "tokens_drawn": drawn, "tokens_expired": expired}


def _after(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


@contextmanager
def _tables(store: str) -> Iterator[str]:
    if store == "table":
        with azurite_tables() as connection:
            yield connection
    else:
        yield ""


def cell(workers: int, shared: bool, args: argparse.Namespace, work_dir: Path) -> dict[str, Any]:
    store = getattr(args, "store", "sqlite")
    calls = getattr(args, "calls", None) or max_concurrent_calls()
    latency = args.latency_ms / args.time_scale
    cell_dir = work_dir / f"cell-{workers}-{int(shared)}-{store}"
    cell_dir.mkdir(parents=True)
    db = cell_dir / "migration.db"
    chunks = enqueue(db, args.users)
    with (
        _tables(store) as tables,
        emulator_process("--time-scale", str(args.time_scale), "--faults", f"latency-ms={latency}") as base,
    ):
        if tables:
            _create_table(tables)
        command = [sys.executable, "-m", "bench.scale_out", "--worker", "--base", base, "--db", str(db),
                   "--time-scale", str(args.time_scale), "--calls", str(calls), "--tables", tables,
                   *(["--shared"] if shared else [])]  # fmt: skip
        env = dict(os.environ)
        procs = [
            subprocess.Popen(command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
            for _ in range(workers)
        ]
        for p in procs:  # imported, directory built, store open
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        start_at = time.time() + 0.5
        for p in procs:
            assert p.stdin is not None
            p.stdin.write(f"{start_at}\n")
            p.stdin.flush()
        results = [json.loads(p.communicate(timeout=CELL_LIMIT_S + 30)[0]) for p in procs]
        emulated = _stats(base)
    seconds = max(r["finished"] for r in results) - start_at
    window = emulated["quotas"]["appWrites"]["windowSeconds"]
    quota = emulated["quotas"]["appWrites"]["limit"] / window
    app = emulated["apps"].get(APP, {"writes": 0, "throttled": 0})
    created = sum(r["created"] for r in results)
    present = sum(r["already_present"] for r in results)
    return {
        "workers": workers, "shared": shared, "store": store if shared else "none", "calls_per_worker": calls,
        "seconds": round(seconds, 2), "quota_writes_per_s": quota, "chunks": chunks,
        "created": created, "already_present": present, "failed": sum(r["failed"] for r in results),
        "unfinished": args.users - created - present - sum(r["failed"] for r in results),
        "write_utilisation": round(app["writes"] / seconds / quota, 3),
        "writes": app["writes"], "throttled_429": app["throttled"], "throttled_by": app.get("throttledBy", {}),
        "share_429": round(app["throttled"] / max(app["writes"] + app["throttled"], 1), 4),
        "duplicates": emulated["users"] - args.users if created + present == args.users else None,
        "chunks_per_worker": [r["chunks"] for r in results],
        "continuations": sum(r["continuations"] for r in results),
        "worker_seconds": [round(r["finished"] - start_at, 2) for r in results],
        "tokens_expired": round(sum(r["tokens_expired"] for r in results)),
        "tokens_drawn": sum(r["tokens_drawn"] for r in results),
    }  # fmt: skip


def _stats(base: str) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.get(f"{base}/_emulator/stats", timeout=10).json()
    return answer


def _create_table(connection: str) -> None:
    from azure.data.tables import TableServiceClient

    with TableServiceClient.from_connection_string(connection) as service:
        service.create_table_if_not_exists("quota")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=8000, help="more than one quota window holds")
    parser.add_argument("--time-scale", type=float, default=20.0)
    parser.add_argument("--latency-ms", type=float, default=120.0, help="Graph-like latency before time-scaling")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--store", choices=("sqlite", "table"), default="sqlite", help="where the shared quota lives")
    parser.add_argument("--shared-only", action="store_true", help="skip the cells without the shared quota")
    parser.add_argument("--calls", type=int, default=0, help="chunks per worker at once (default: host.json)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--shared", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--tables", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(asyncio.run(work(args))))
        return
    rows = []
    with tempfile.TemporaryDirectory(prefix="ciam-scale-") as tmp:
        for workers in (int(n) for n in args.workers.split(",")):
            for shared in (True,) if args.shared_only else (False, True):
                rows.append(cell(workers, shared, args, Path(tmp)))
                r = rows[-1]
                print(
                    f"N={r['workers']} shared={r['store']:<6} {r['created']:>6} created in {r['seconds']:>6.2f}s;"
                    f" writes/s÷quota {r['write_utilisation']:.3f};"
                    f" 429s {r['throttled_429']} ({r['share_429']:.2%}) {r['throttled_by']};"
                    f" duplicates {r['duplicates']};"
                    f" unfinished {r['unfinished']}; chunks per worker {r['chunks_per_worker']};"
                    f" continuations {r['continuations']}; leased tokens expired {r['tokens_expired']} of"
                    f" {r['tokens_drawn']}",
                    flush=True,
                )
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
