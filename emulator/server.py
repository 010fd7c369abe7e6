"""Start and stop the emulator from Python.

    async with serve(EmulatorConfig(port=0)) as server:   # in a test
        base = server.base_url                              # http://127.0.0.1:<port>
    handle = run_in_thread(EmulatorConfig(port=0))          # from sync code
    ...; handle.stop()

`start()` loads `state_file` when it exists; `stop()` (and a timer every `state_save_interval_s`
while something changed) saves it. The server binds loopback only (EmulatorConfig refuses others).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from aiohttp import web

from emulator.app import build_app
from emulator.config import EmulatorConfig
from emulator.constants import DEFAULT_CLIENT_APP_ID
from emulator.core import EmulatedTenant

logger = logging.getLogger(__name__)


class EmulatorServer:
    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.tenant = EmulatedTenant(self.config)
        self._runner: web.AppRunner | None = None
        self._saver: asyncio.Task[None] | None = None
        self.base_url = ""

    @property
    def graph_url(self) -> str:
        return f"{self.base_url}/v1.0"

    async def start(self) -> str:
        path = self.config.state_file
        if path is not None and path.exists():
            self.tenant.state.load(path)
            logger.info("emulator state loaded from %s (%d users)", path, len(self.tenant.state.users))
        runner = web.AppRunner(build_app(self.tenant, DEFAULT_CLIENT_APP_ID), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.config.host, self.config.port, reuse_address=True)
        await site.start()
        self._runner = runner
        host, port = runner.addresses[0][:2]
        host = f"[{host}]" if ":" in host else host
        self.base_url = f"http://{host}:{port}"
        if path is not None:
            self._saver = asyncio.create_task(self._save_periodically())
        return self.base_url

    async def _save_periodically(self) -> None:
        path = self.config.state_file
        assert path is not None
        while True:
            await asyncio.sleep(self.config.state_save_interval_s)
            if self.tenant.state.dirty:
                self.tenant.state.save(path)

    async def stop(self) -> None:
        if self._saver is not None:
            self._saver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._saver
            self._saver = None
        if self.config.state_file is not None:
            self.tenant.state.save(self.config.state_file)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@contextlib.asynccontextmanager
async def serve(config: EmulatorConfig | None = None) -> AsyncIterator[EmulatorServer]:
    server = EmulatorServer(config)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@dataclass
class EmulatorHandle:
    """A server running on its own event loop in a daemon thread."""

    base_url: str
    server: EmulatorServer
    _loop: asyncio.AbstractEventLoop
    _thread: threading.Thread

    @property
    def graph_url(self) -> str:
        return f"{self.base_url}/v1.0"

    def stop(self, timeout: float = 10.0) -> None:
        if not self._thread.is_alive():
            return
        future = asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop)
        future.result(timeout)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)

    def __enter__(self) -> EmulatorHandle:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def run_in_thread(config: EmulatorConfig | None = None, timeout: float = 10.0) -> EmulatorHandle:
    server = EmulatorServer(config)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    failure: list[BaseException] = []

    def main() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.start())
        except BaseException as exc:  # reported to the caller below
            failure.append(exc)
            started.set()
            return
        started.set()
        loop.run_forever()
        loop.close()

    thread = threading.Thread(target=main, name="tenant-emulator", daemon=True)
    thread.start()
    if not started.wait(timeout):
        raise TimeoutError(f"emulator did not start within {timeout}s")
    if failure:
        raise failure[0]
    return EmulatorHandle(server.base_url, server, loop, thread)


async def run_until_stopped(
    config: EmulatorConfig, stop: asyncio.Event, ready: Callable[[str], None] | None = None
) -> str:
    """For the CLI: serve until `stop` is set, then save and shut down."""
    server = EmulatorServer(config)
    base = await server.start()
    if ready is not None:
        ready(base)
    try:
        await stop.wait()
    finally:
        await server.stop()
    return base
