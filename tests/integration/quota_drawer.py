"""One process drawing from a shared write quota (run by test_shared_quota_processes.py): prints send times.

python tests/integration/quota_drawer.py sqlite PATH | table CONNECTION TABLE, then SECONDS; prints `ready` once
its store is open and starts at the wall-clock time read from stdin (so a slow start under load costs no share).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from shared.adapters.graph.quota_lease import QuotaStore, SharedBudget
from shared.adapters.local.quota import SqliteQuotaStore
from shared.adapters.quota_table import TableQuotaStore

LIMIT, WINDOW_S, LEASE_S, BATCH, IN_FLIGHT = 60, 1.0, 0.1, 5, 3


async def main(argv: list[str]) -> None:
    kind = argv[0]
    store: QuotaStore
    if kind == "sqlite":
        store = SqliteQuotaStore(Path(argv[1]))
        seconds = float(argv[2])
    else:
        table = TableQuotaStore.from_connection_string(argv[1], argv[2])
        store = table
        seconds = float(argv[3])
    budget = SharedBudget(store, "t|app|a", LIMIT, WINDOW_S, headroom=1.0, lease_s=LEASE_S)
    print("ready", flush=True)
    start_at = float(sys.stdin.readline())
    await asyncio.sleep(max(0.0, start_at - time.time()))
    sent: list[float] = []

    async def sender() -> None:
        while time.time() < start_at + seconds:
            await budget.acquire(BATCH)
            sent.append(time.time())

    await asyncio.gather(*(sender() for _ in range(IN_FLIGHT)))
    if kind == "table":
        await table.close()
    print(json.dumps({"sent": sent, "batch": BATCH, "leases": budget.leases_drawn}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
