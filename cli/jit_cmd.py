"""`ciam-migrate jit serve`: the OnPasswordSubmit endpoint on this machine, for rehearsals and benchmarks.

Serves POST /api/password-submit (same route as the Function) with the vault and state under --state. Binds to
loopback by default; Entra itself can only reach it through a tunnel you set up deliberately.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path
from typing import Annotated

import typer
from aiohttp import web
from rich.console import Console

from shared.bootstrap import open_jit_service
from shared.config import JitSettings
from shared.jit.server import JitRunner, build_app
from shared.telemetry import TallyTelemetry

console = Console(stderr=True)


def register(app: typer.Typer) -> None:
    jit = typer.Typer(help="Just-in-time password migration (Entra OnPasswordSubmit).", no_args_is_help=True)
    jit.command("serve")(serve)
    app.add_typer(jit, name="jit")


def serve(
    state: Annotated[Path, typer.Option("--state", help="State directory holding vault.db and keys/")],
    port: Annotated[int, typer.Option("--port", help="TCP port (0 = any free port)")],
    decryption_key: Annotated[Path, typer.Option("--decryption-key", help="PEM private key of the JWE cert")],
    tenant_id: Annotated[str, typer.Option("--tenant-id", help="External ID tenant id")],
    audience: Annotated[list[str], typer.Option("--audience", help="Extension app client id or api:// URI")],
    authority: Annotated[str, typer.Option("--authority", help="https://<domain>.ciamlogin.com/<tenantId>/v2.0")],
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    lockout_threshold: Annotated[int, typer.Option("--lockout-threshold")] = 10,
    rate_limit: Annotated[float, typer.Option("--rate-limit", help="Verifications per second, all users")] = 100.0,
) -> None:
    """Serve POST /api/password-submit until interrupted; print a summary of decisions at exit."""
    settings = JitSettings(
        TENANT_ID=tenant_id,
        AUTHORITY=authority,
        AUDIENCES=audience,
        DECRYPTION_KEY_FILE=str(decryption_key),
        LOCKOUT_THRESHOLD=lockout_threshold,
        RATE_LIMIT_PER_S=rate_limit,
        RATE_LIMIT_BURST=max(1, int(rate_limit)),
    )
    try:
        asyncio.run(_serve(settings, state, host, port))
    except ValueError as exc:  # configuration errors: one line, no traceback
        console.print(f"[red]jit serve:[/red] {exc}")
        raise typer.Exit(2) from exc


async def _serve(settings: JitSettings, state: Path, host: str, port: int) -> None:
    telemetry = TallyTelemetry()
    service = await open_jit_service(settings, state_dir=state, telemetry=telemetry)
    runner = JitRunner(build_app(service, max_body_bytes=settings.MAX_BODY_BYTES), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else port
    # Machine-readable first line: scripts (bench/jit_latency.py) wait for it.
    print(f"listening http://{host}:{bound}/api/password-submit", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    with contextlib.suppress(Exception):
        await service.warm()  # metadata unreachable now is not fatal: the first request retries it
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await service.close()
        by_action: dict[str, int] = {}
        for (name, attrs), n in telemetry.counts.items():
            if name == "jit.requests":
                action = dict(attrs).get("action", "?")
                by_action[action] = by_action.get(action, 0) + n
        console.print(f"jit serve stopped; decisions: {by_action or 'none'}; outcomes in {state / 'jit.db'}")
