"""What every legacy-side emulator shares: a clock that tests can move, a rate limiter, request stats, the
control API, and a loopback server runnable from sync code (`run_in_thread`).

Control API (JSON, under /_control; tests and rehearsals only):
  POST /_control/users {"users": [native user, …]}     seed users as they exist before the sync (no events)
  POST /_control/seed-sample {}                          seed the bundled sample export (samples/<vendor>/…)
  POST /_control/changes {"changes": [{"op", "id"?, "fields"?, "via"?}]}  mutate users, writing log records
  GET  /_control/users                                   every current user, in the vendor's API shape
  GET  /_control/export                                  the users as the vendor's bulk export (for `plan`/`run`)
  POST /_control/clock {"advance_s": n}                  move the emulator's clock (retention tests)
  POST /_control/rate {"burst": n, "per_second": r}      change the rate limit (0 = off)
  GET  /_control/stats                                   requests, 429s, and requests sent before a 429's reset
Ops: create, update, email, disable, enable, delete, password. `via`: "admin" (management API) or "user"
(self-service), which decides the log record written, as the vendor would.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


class Clock:
    """Wall time plus an offset the control API can move forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset


@dataclass
class RateStats:
    requests: int = 0
    throttled: int = 0
    early: int = 0  # requests that arrived before the reset time a 429 announced


class TokenBucket:
    """`burst` requests at once, refilled at `per_second`; 0 burst = unlimited."""

    def __init__(self, clock: Clock, burst: int = 0, per_second: float = 0.0) -> None:
        self.clock = clock
        self.burst = burst
        self.per_second = per_second
        self.tokens = float(burst)
        self.stamp = clock.now()
        self.announced = 0.0  # the reset a 429 last promised (epoch seconds)

    def configure(self, burst: int, per_second: float) -> None:
        self.burst, self.per_second, self.tokens, self.stamp = burst, per_second, float(burst), self.clock.now()

    def drain(self) -> None:
        """Another client of the same tenant just used the whole bucket."""
        self.tokens, self.stamp = 0.0, self.clock.now()

    def take(self, stats: RateStats) -> tuple[bool, dict[str, str]]:
        """(admitted, headers to send). Headers are Auth0/Okta-style: limit, remaining, reset (epoch seconds)."""
        stats.requests += 1
        now = self.clock.now()
        if self.burst <= 0:
            return True, {}
        if now < self.announced:
            stats.early += 1
        self.tokens = min(float(self.burst), self.tokens + (now - self.stamp) * self.per_second)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            full_at = now + (self.burst - self.tokens) / self.per_second if self.per_second else now
            return True, self._headers(math.floor(self.tokens), full_at)
        stats.throttled += 1
        ready = now + (1.0 - self.tokens) / self.per_second if self.per_second else now + 60.0
        self.announced = float(math.ceil(ready))  # whole seconds, rounded up: waiting for it is never early
        return False, self._headers(0, self.announced)

    def _headers(self, remaining: int, reset: float) -> dict[str, str]:
        return {"limit": str(self.burst), "remaining": str(remaining), "reset": str(math.ceil(reset))}


class LateQueue:
    """A vendor's indexing delay: a `rate` of records is held and ingested only after `by` later ones."""

    def __init__(self, ingest: Callable[[dict[str, Any]], None], rng: random.Random, rate: float, by: int) -> None:
        self._ingest, self._rng, self.rate, self.by = ingest, rng, rate, by
        self._held: list[tuple[int, dict[str, Any]]] = []

    def offer(self, record: dict[str, Any]) -> None:
        if self.rate and self._rng.random() < self.rate:
            self._held.append((self.by, record))
            return
        self._ingest(record)
        still: list[tuple[int, dict[str, Any]]] = []
        for left, held in self._held:
            if left <= 1:
                self._ingest(held)
            else:
                still.append((left - 1, held))
        self._held = still

    def flush(self) -> None:
        held, self._held = self._held, []
        for _, record in held:
            self._ingest(record)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(body, separators=(",", ":")), content_type="application/json", headers=headers
    )


@dataclass
class Change:
    op: str
    id: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    via: str = "admin"


class LegacyEmulator:
    """A vendor emulator: subclasses keep users and logs in the vendor's shapes and add the vendor routes."""

    vendor = "legacy"

    def __init__(self, *, seed: int = 0) -> None:
        self.clock = Clock()
        self.rng = random.Random(seed)
        self.stats = RateStats()
        self.bucket = TokenBucket(self.clock)
        self.lock = threading.RLock()

    # --- vendor hooks -----------------------------------------------------------------------------------------
    def seed_users(self, natives: list[dict[str, Any]]) -> int:
        raise NotImplementedError

    def seed_sample(self) -> int:
        raise NotImplementedError

    def apply(self, change: Change) -> str:
        """Mutate one user and record the vendor's log entries; returns the user's id."""
        raise NotImplementedError

    def users(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def export_text(self) -> str:
        raise NotImplementedError

    def add_routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        """Ingest records held back by a quirk (late indexing/persistence), so every change is eventually visible."""

    # --- shared ---------------------------------------------------------------------------------------------
    def apply_all(self, changes: list[Change]) -> list[str]:
        with self.lock:
            return [self.apply(c) for c in changes]

    def build_app(self) -> web.Application:
        app = web.Application()
        self.add_routes(app)
        app.router.add_post("/_control/users", self._c_users)
        app.router.add_post("/_control/seed-sample", self._c_sample)
        app.router.add_post("/_control/changes", self._c_changes)
        app.router.add_get("/_control/users", self._c_list)
        app.router.add_get("/_control/export", self._c_export)
        app.router.add_post("/_control/clock", self._c_clock)
        app.router.add_post("/_control/rate", self._c_rate)
        app.router.add_post("/_control/flush", self._c_flush)
        app.router.add_get("/_control/stats", self._c_stats)
        return app

    async def _c_users(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self.lock:
            return json_response({"seeded": self.seed_users(list(body.get("users") or []))})

    async def _c_sample(self, request: web.Request) -> web.Response:
        with self.lock:
            return json_response({"seeded": self.seed_sample()})

    async def _c_changes(self, request: web.Request) -> web.Response:
        body = await request.json()
        try:
            changes = [Change(**c) for c in body.get("changes") or []]
            ids = self.apply_all(changes)
        except (TypeError, KeyError, ValueError) as exc:
            return json_response({"error": f"bad change: {exc}"}, 400)
        return json_response({"ids": ids})

    async def _c_list(self, request: web.Request) -> web.Response:
        with self.lock:
            return json_response(self.users())

    async def _c_export(self, request: web.Request) -> web.Response:
        with self.lock:
            return web.Response(text=self.export_text(), content_type="text/plain")

    async def _c_clock(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.clock.offset += float(body.get("advance_s") or 0)
        return json_response({"now": self.clock.now()})

    async def _c_rate(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.bucket.configure(int(body.get("burst") or 0), float(body.get("per_second") or 0))
        return json_response({"burst": self.bucket.burst, "per_second": self.bucket.per_second})

    async def _c_flush(self, request: web.Request) -> web.Response:
        with self.lock:
            self.flush()
        return json_response({})

    async def _c_stats(self, request: web.Request) -> web.Response:
        s = self.stats
        return json_response({"requests": s.requests, "throttled": s.throttled, "early": s.early})


@dataclass
class LegacyHandle:
    """A legacy emulator serving on 127.0.0.1 from its own event loop thread."""

    base_url: str
    emulator: LegacyEmulator
    _loop: asyncio.AbstractEventLoop
    _thread: threading.Thread
    _runner: web.AppRunner

    def stop(self, timeout: float = 10.0) -> None:
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)


def run_in_thread(emulator: LegacyEmulator, host: str = "127.0.0.1", port: int = 0) -> LegacyHandle:
    if host not in LOOPBACK:
        raise ValueError(f"legacy emulators listen on loopback only, not {host!r}")
    loop = asyncio.new_event_loop()
    ready: dict[str, Any] = {}
    started = threading.Event()

    async def start() -> None:
        runner = web.AppRunner(emulator.build_app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0]
        ready["runner"], ready["url"] = runner, f"http://{bound[0]}:{bound[1]}"

    def main() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(start())
        except BaseException as exc:  # surfaced to the caller below
            ready["error"] = exc
            started.set()
            return
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=main, name=f"{emulator.vendor}-emulator", daemon=True)
    thread.start()
    started.wait(10)
    if "error" in ready:
        raise RuntimeError(f"{emulator.vendor} emulator did not start: {ready['error']}")
    return LegacyHandle(ready["url"], emulator, loop, thread, ready["runner"])


Factory = Callable[..., LegacyEmulator]
