"""Import throughput against the emulator's enforced write quota, batched vs a naive baseline.

For one app registration and for three, a generated export is imported with `ciam-migrate run`'s
engine against the tenant emulator (its own process, windows shortened --time-scale K times, every
answer delayed by Graph-like latency scaled the same way). Printed: users/s, write-quota utilisation
(users/s ÷ the quota the emulator enforces) and the share of writes answered 429. Then a naive
baseline — one POST /users per user, sequential, as Microsoft's older sample does — on the same
emulator, and the ratio between the two.

    .venv/bin/python -m bench.import_throughput [--users 4000] [--time-scale 10] [--latency-ms 150]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from msgraph.generated.models.object_identity import ObjectIdentity
from msgraph.generated.models.password_profile import PasswordProfile
from msgraph.generated.models.user import User

from bench.common import emulator_process, write_users
from cli.run_cmd import execute_run
from emulator import DEFAULT_EXTENSIONS_APP_ID
from shared.adapters.graph.client import make_graph_client
from shared.config import Settings, WriteQuota

TENANT = "contoso.onmicrosoft.com"
APPS = [f"bbbbbbbb-0000-4000-8000-00000000000{n}" for n in range(1, 4)]


def stats(base: str) -> dict[str, Any]:
    return httpx.get(f"{base}/_emulator/stats", timeout=10).json()  # type: ignore[no-any-return]


def batched(users: int, apps: int, scale: float, latency_ms: float, work: Path) -> dict[str, Any]:
    export = work / f"export-{apps}.jsonl"
    write_users(export, users, "b")
    with emulator_process("--time-scale", str(scale), "--faults", f"latency-ms={latency_ms}") as base:
        settings = Settings(
            STATE_DIR=str(work / f"state-{apps}"), GRAPH_URL=base, TENANT=TENANT, APP_IDS=APPS[:apps],
            EXTENSIONS_APP_ID=DEFAULT_EXTENSIONS_APP_ID, WRITE_QUOTA=WriteQuota(time_scale=scale), CHUNK_SIZE=500,
        )  # fmt: skip
        run = asyncio.run(execute_run(export, "jsonl", settings, show_progress=False))
        report = json.loads((work / f"state-{apps}" / "runs" / run.run_id / "report.json").read_text())
        emulated = stats(base)
    writes = sum(a["writes"] for a in emulated["apps"].values())
    throttled = sum(a["throttled"] for a in emulated["apps"].values())
    counts = report["counts"]
    assert counts["created"] == users and counts["failed"] == 0, counts
    return {
        "mode": f"batched, {apps} app(s)",
        "users": users,
        "seconds": report["throughput"]["import_seconds"],
        "users_per_second": report["throughput"]["import_users_per_second"],
        "quota_writes_per_second": report["throughput"]["quota_writes_per_second"],
        "utilisation": report["throughput"]["write_quota_utilisation"],
        "share_429": throttled / max(writes + throttled, 1),
    }


async def _naive(base: str, users: int, time_limit_s: float) -> tuple[int, float]:
    client = make_graph_client(base, APPS[0])
    created = 0
    started = time.perf_counter()
    for n in range(users):  # bounded by count and by time
        if time.perf_counter() - started > time_limit_s:
            break
        await client.users.post(
            User(
                account_enabled=True, display_name=f"Naive {n}", mail=f"naive.{n}@example.com",
                identities=[ObjectIdentity(sign_in_type="emailAddress", issuer=TENANT,
                                           issuer_assigned_id=f"naive.{n}@example.com")],
                password_profile=PasswordProfile(password="Naive-Passw0rd!", force_change_password_next_sign_in=False),
                password_policies="DisablePasswordExpiration",
            )
        )  # fmt: skip
        created += 1
    return created, time.perf_counter() - started


def naive(users: int, scale: float, latency_ms: float, time_limit_s: float) -> dict[str, Any]:
    with emulator_process("--time-scale", str(scale), "--faults", f"latency-ms={latency_ms}") as base:
        created, seconds = asyncio.run(_naive(base, users, time_limit_s))
        emulated = stats(base)
    quota = emulated["quotas"]["appWrites"]["limit"] / emulated["quotas"]["appWrites"]["windowSeconds"]
    rate = created / seconds
    throttled = sum(a["throttled"] for a in emulated["apps"].values())
    return {
        "mode": "naive: one POST per user, sequential",
        "users": created,
        "seconds": round(seconds, 3),
        "users_per_second": round(rate, 2),
        "quota_writes_per_second": quota,
        "utilisation": round(rate / quota, 3),
        "share_429": throttled / max(created + throttled, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=4000, help="users for one app (three apps get 3×)")
    parser.add_argument("--time-scale", type=float, default=10.0)
    parser.add_argument("--latency-ms", type=float, default=150.0, help="Graph-like latency before time-scaling")
    args = parser.parse_args()
    latency = args.latency_ms / args.time_scale
    print(f"emulator: --time-scale {args.time_scale:g}, latency {latency:.1f} ms per answer "
          f"({args.latency_ms:g} ms ÷ time-scale)")  # fmt: skip
    results = []
    with tempfile.TemporaryDirectory(prefix="ciam-bench-") as tmp:
        work = Path(tmp)
        results.append(batched(args.users, 1, args.time_scale, latency, work))
        results.append(batched(args.users * 3, 3, args.time_scale, latency, work))
        results.append(naive(args.users, args.time_scale, latency, time_limit_s=20.0))
    for r in results:
        print(
            f"{r['mode']:<40} {r['users']:>6} users in {r['seconds']:>7.2f}s = {r['users_per_second']:>8.1f} users/s;"
            f" quota {r['quota_writes_per_second']:.0f} writes/s; utilisation {r['utilisation']:.3f};"
            f" 429s {r['share_429']:.2%}"
        )
    one, _, base = results
    print(f"batched (1 app) ÷ naive: {one['users_per_second'] / base['users_per_second']:.1f}×")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
