"""`ciam-migrate emulator`: serve the tenant emulator on loopback until Ctrl-C / SIGTERM.

State (with `--state FILE`) is saved on shutdown and every few seconds while it changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import signal
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from emulator.config import EmulatorConfig, FaultSpec
from emulator.constants import DEFAULT_TENANT
from emulator.server import run_until_stopped


def register(app: typer.Typer) -> None:
    app.command("emulator")(emulator)


def emulator(
    host: Annotated[str, typer.Option(help="Loopback address to bind (127.0.0.1 or ::1).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port; 0 picks a free one.")] = 8765,
    tenant: Annotated[str, typer.Option(help="Tenant domain used as identity issuer.")] = DEFAULT_TENANT,
    time_scale: Annotated[float, typer.Option(help="Divide every quota window by K.")] = 1.0,
    faults: Annotated[
        str, typer.Option(help="e.g. 503=0.02,504-after-commit=0.01,lag=0.02,drop=0.001,latency-ms=5")
    ] = "",
    seed: Annotated[int, typer.Option(help="Seed for reproducible faults.")] = 0,
    state: Annotated[Path | None, typer.Option(help="JSON file to load at start and save to.")] = None,
    client_apps: Annotated[
        Path | None,
        typer.Option(help="JSON file: app registrations the token endpoint knows ([{client_id, secret}, …])."),
    ] = None,
) -> None:
    """Serve a Graph-compatible Entra External ID tenant emulator on loopback.

    Exit codes: 0 stopped by Ctrl-C / SIGTERM; 2 a non-loopback --host or the port is taken."""
    try:
        config = EmulatorConfig(
            host=host,
            port=port,
            tenant=tenant,
            time_scale=time_scale,
            faults=FaultSpec.parse(faults),
            seed=seed,
            state_file=state,
            client_apps=json.loads(client_apps.read_text(encoding="utf-8")) if client_apps else [],
        )
    except (ValidationError, ValueError, OSError) as exc:
        typer.echo(f"error: emulator: {_first_error(exc)}", err=True)
        raise typer.Exit(2) from exc
    try:
        asyncio.run(_serve(config))
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        typer.echo(f"error: emulator: port {port} on {host} is already in use (another emulator?); "
                   "stop it, or pass --port 0 for a free port", err=True)  # fmt: skip
        raise typer.Exit(2) from None


async def _serve(config: EmulatorConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)

    def ready(base_url: str) -> None:
        quotas = config.quotas
        typer.echo(f"tenant emulator for {config.tenant} listening on {base_url} (Graph at {base_url}/v1.0)")
        typer.echo(
            f"  writes/app {quotas.app_writes} per {config.scaled(quotas.app_write_window_s):g}s, "
            f"time-scale {config.time_scale:g}, faults {config.faults.model_dump(exclude_defaults=True) or 'none'}",
        )

    await run_until_stopped(config, stop, ready)
    typer.echo("tenant emulator stopped" + (f"; state saved to {config.state_file}" if config.state_file else ""))


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return str(first.get("msg", exc)).removeprefix("Value error, ")  # pydantic's prefix, not the operator's
    return str(exc)
