"""How many requests per second the tenant emulator itself serves (goal ≥ 1,000), so it is never
the bottleneck of a benchmark. Bounded: a fixed number of requests per phase and a time limit.

The emulator runs in its own process (`python -m emulator`) with `--time-scale 1000000`, which
shrinks every quota window to microseconds: this measures the server, not Entra's quotas.

    .venv/bin/python -m bench.emulator_throughput [--requests 3000] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from bench.common import emulator_process

TENANT = "contoso.onmicrosoft.com"
TIME_LIMIT_S = 60.0


def token(app_id: str) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part({'appid': app_id})}.x"


def customer(n: int, phase: str) -> dict[str, Any]:
    email = f"{phase}{n}@example.com"
    return {
        "displayName": f"user {n}",
        "mail": email,
        "identities": [{"signInType": "emailAddress", "issuer": TENANT, "issuerAssignedId": email}],
        "passwordProfile": {"password": "Str0ng!Passw0rd", "forceChangePasswordNextSignIn": False},
        "passwordPolicies": "DisablePasswordExpiration",
    }


async def run_phase(
    name: str, count: int, concurrency: int, call: Callable[[int], Awaitable[int]], items_per_call: int = 1
) -> dict[str, Any]:
    statuses: Counter[int] = Counter()
    next_index = 0
    deadline = time.perf_counter() + TIME_LIMIT_S

    async def worker() -> None:
        nonlocal next_index
        while next_index < count and time.perf_counter() < deadline:
            index = next_index
            next_index += 1
            statuses[await call(index)] += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    done = sum(statuses.values())
    result = {
        "phase": name,
        "requests": done,
        "seconds": round(elapsed, 3),
        "requests_per_s": round(done / elapsed, 1),
        "graph_calls_per_s": round(done * items_per_call / elapsed, 1),
        "statuses": dict(statuses),
    }
    print(
        f"{name:<22} {done:>6} requests in {elapsed:6.2f}s = {result['requests_per_s']:>8.1f} req/s"
        f"  ({result['graph_calls_per_s']:.1f} Graph calls/s) statuses={dict(statuses)}"
    )
    return result


async def bench(base: str, count: int, concurrency: int) -> list[dict[str, Any]]:
    graph = f"{base}/v1.0"
    headers = {"Authorization": f"Bearer {token('bench-app')}"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(headers=headers, connector=connector) as session:
        ids: list[str] = []

        async def post_single(n: int) -> int:
            async with session.post(f"{graph}/users", json=customer(n, "single")) as response:
                body = await response.json()
                if response.status == 201:
                    ids.append(body["id"])
                return response.status

        async def post_batch(n: int) -> int:
            items = [
                {"id": str(i), "method": "POST", "url": "/users", "headers": {"Content-Type": "application/json"},
                 "body": customer(n * 20 + i, "batch")}
                for i in range(20)
            ]  # fmt: skip
            async with session.post(f"{graph}/$batch", json={"requests": items}) as response:
                body = await response.json()
                bad = [r for r in body["responses"] if r["status"] != 201]
                return response.status if not bad else bad[0]["status"]

        async def get_single(n: int) -> int:
            async with session.get(f"{graph}/users/{ids[n % len(ids)]}") as response:
                await response.read()
                return response.status

        async def get_batch(n: int) -> int:
            items = [
                {"id": str(i), "method": "GET", "url": f"/users/{ids[(n * 20 + i) % len(ids)]}"} for i in range(20)
            ]
            async with session.post(f"{graph}/$batch", json={"requests": items}) as response:
                await response.read()
                return response.status

        async def find_by_identity(n: int) -> int:
            email = f"single{n % max(len(ids), 1)}@example.com"
            flt = f"identities/any(c:c/issuerAssignedId eq '{email}' and c/issuer eq '{TENANT}')"
            async with session.get(f"{graph}/users", params={"$filter": flt, "$select": "id"}) as response:
                await response.read()
                return response.status

        return [
            await run_phase("POST /users", count, concurrency, post_single),
            await run_phase("POST $batch x20", max(count // 20, 1), concurrency, post_batch, 20),
            await run_phase("GET /users/{id}", count, concurrency, get_single),
            await run_phase("GET $batch x20", max(count // 20, 1), concurrency, get_batch, 20),
            await run_phase("GET /users?$filter", count, concurrency, find_by_identity),
        ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per single-call phase")
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    # Quotas scaled out of the way: this measures the server, not its throttling.
    with emulator_process("--time-scale", "1000000") as base:
        results = asyncio.run(bench(base, args.requests, args.concurrency))
    single = [r for r in results if "$batch" not in r["phase"]]
    total = sum(r["requests"] for r in single)
    seconds = sum(r["seconds"] for r in single)
    overall = total / seconds
    verdict = "OK" if overall >= 1000 else "BELOW GOAL"
    print(f"emulator throughput (single requests, all phases): {overall:.0f} req/s — goal 1,000: {verdict}")


if __name__ == "__main__":
    main()
