"""`ciam-migrate rehearse cutover`: a whole cutover, offline, in one command.

Starts the tenant emulator (time-scaled), sets the tenant up with `tenant apply` from a tenant.toml it writes into
the state folder (customer app, JIT flag, extension app + certificate, custom extension, listener: docs/tenant.md),
imports a generated sample of JIT users through the real import stage, serves our JIT endpoint on loopback under
the extension apply created, then drives simulated sign-ins (seeded mix; rehearsal.py) while the monitors run every
simulated minute: ingest_signins → local alert evaluation → dispatch_alert. Faults (`--faults`) act on the
endpoint. Ends with the dashboard, the alerts that fired (and, per fault, whether its alert did), and
cutover.html. After the sign-ins stop, the monitors keep running for one evaluation window (`--drain-minutes`)
so late sign-in records arrive and alerts can fire. Exit code 1 when an injected fault raised no alert.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import shutil
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import httpx
import typer
from aiohttp import web
from rich.console import Console

from cli.run_cmd import execute_run
from cli.settings_from_options import build_settings
from cli.tenant_cmd import reconcile_file
from cli.watch_cmd import render_dashboard
from emulator import DEFAULT_EXTENSIONS_APP_ID, EmulatorConfig, run_in_thread
from shared.adapters.graph.client import emulator_token
from shared.bootstrap import open_jit_service, open_local_vault
from shared.config import JitSettings
from shared.handlers.dispatch_alert import dispatch_alert
from shared.handlers.ingest_signins import IngestPorts, IngestSettings, ingest_signins
from shared.jit.server import build_app
from shared.jit.service import ROUTE
from shared.monitoring.alert_rules import evaluate, load_rules, raised_alerts
from shared.monitoring.cutover_report import render_cutover_html
from shared.monitoring.dashboard import read_dashboard
from shared.monitoring.metrics import MetricSink, StoreTelemetry
from shared.monitoring.rehearsal import (
    Attempt,
    Fault,
    baseline_failure_share,
    burst,
    draw_attempt,
    parse_faults,
    write_sample,
)
from shared.monitoring.reporting_limiter import ReportingLimiter
from shared.monitoring.signin_log import GraphSignInLog
from shared.monitoring.sqlite_store import SqliteMonitorStore
from shared.passwords import verify
from shared.records import PasswordHash
from shared.telemetry import TallyTelemetry
from shared.tenant.certificate import EncryptionCertificate
from shared.tenant.reconcile import JitWiring
from shared.tenant.rehearsal_file import REHEARSAL_APP_KEY, write_rehearsal_tenant_file

READER_APP = "5eed0000-0000-4000-8000-00000000feed"
ACTIVITY_PER_MIN = 0.03  # share of the users who try to sign in each simulated minute


@dataclass
class RehearsalResult:
    state: Path
    report: Path
    fired: set[str]
    expected: dict[str, str]  # fault kind -> alert it must raise
    flagged_series: list[float] = field(default_factory=list)
    pct_migrated_series: list[float] = field(default_factory=list)
    sign_ins: int = 0

    @property
    def missing(self) -> dict[str, str]:
        return {fault: alert for fault, alert in self.expected.items() if alert not in self.fired}


class FaultSwitch:
    """The endpoint's faults at the current simulated minute."""

    def __init__(self, faults: list[Fault]) -> None:
        self.faults = faults
        self.minute = 0.0

    def down(self) -> bool:
        return any(f.kind == "jit-down" and f.active(self.minute) for f in self.faults)

    def slow_ms(self) -> int:
        return max((f.delay_ms for f in self.faults if f.kind == "jit-slow" and f.active(self.minute)), default=0)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def rehearse_cutover(
    state: Path, *, users: int, minutes: float, faults: list[Fault], time_scale: float, seed: int,
    drain_minutes: float, console: Console,
) -> RehearsalResult:  # fmt: skip
    if state.exists():  # noqa: ASYNC240
        shutil.rmtree(state)
    state.mkdir(parents=True)  # noqa: ASYNC240
    rng = random.Random(seed)
    emulator = run_in_thread(EmulatorConfig(port=0, time_scale=time_scale, seed=seed))
    try:
        console.rule(f"1. tenant apply, then import {users} users (JIT for hashed passwords) into {emulator.base_url}")
        port = _free_port()
        certificate = EncryptionCertificate.generate()
        key_file = state / "keys" / "jit-enc.pem"
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_bytes(certificate.private_key_pem)
        key_file.chmod(0o600)
        tenant_file = write_rehearsal_tenant_file(state, endpoint=f"http://127.0.0.1:{port}{ROUTE}",
                                                  certificate=certificate)  # fmt: skip
        applied = await reconcile_file(tenant_file, emulator.base_url, apply=True, prune=False)
        if applied.jit is None:
            raise RuntimeError(f"{tenant_file} declares no [jit]")
        console.print(f"tenant apply {tenant_file}: {len(applied.pending)} changes "
                      f"({', '.join(sorted({c.kind for c in applied.pending}))})")  # fmt: skip
        population = write_sample(state / "sample.jsonl", users, rng)
        settings = build_settings(state=str(state), graph_url=emulator.base_url,
                                  extensions_app_id=DEFAULT_EXTENSIONS_APP_ID, time_scale=time_scale)  # fmt: skip
        run = await execute_run((state / "sample.jsonl").resolve(), "jsonl", settings, show_progress=False)
        console.print(f"imported: {run.created} created, {run.failed} failed, {run.rejected} rejected")
        wiring = Wiring(applied.jit, applied.app_ids[REHEARSAL_APP_KEY], port, key_file)
        return await _cutover(state, emulator.base_url, emulator.server.config.tenant_id, population, wiring,
                              minutes=minutes, faults=faults, time_scale=time_scale, rng=rng,
                              drain_minutes=drain_minutes, console=console)  # fmt: skip
    finally:
        emulator.stop()


@dataclass(frozen=True)
class Wiring:
    """What `tenant apply` created for the rehearsal, and where our endpoint must listen."""

    jit: JitWiring
    customer_app: str  # the appId of the rehearsal's customer app
    port: int
    key_file: Path


async def _cutover(
    state: Path, base_url: str, tenant_id: str, population: object, wiring: Wiring, *, minutes: float,
    faults: list[Fault], time_scale: float, rng: random.Random, drain_minutes: float, console: Console,
) -> RehearsalResult:  # fmt: skip
    from shared.monitoring.rehearsal import Population

    assert isinstance(population, Population)
    console.rule("2. Serve our endpoint under the custom extension tenant apply created")
    jit, port, key_file = wiring.jit, wiring.port, wiring.key_file
    store = SqliteMonitorStore(state / "monitor.db")
    switch = FaultSwitch(faults)
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=30) as control,
        httpx.AsyncClient(base_url=f"{base_url}/v1.0", timeout=30) as reader,
    ):
        # Time-compressed rehearsal: the endpoint's per-second rate limit and lockout windows follow --time-scale
        # (like the emulator's quotas); every token and JWE rule keeps its production value.
        jit_settings = JitSettings(
            TENANT_ID=tenant_id, AUTHORITY=f"{base_url}/{tenant_id}/v2.0", AUDIENCES=[jit.audience],
            DECRYPTION_KEY_FILE=str(key_file), DUMMY_BCRYPT_COST=4, RATE_LIMIT_PER_S=100 * time_scale,
            RATE_LIMIT_BURST=int(100 * time_scale), LOCKOUT_WINDOW_S=max(1, int(900 / time_scale)),
            LOCKOUT_DURATION_S=max(1, int(900 / time_scale)),
        )  # fmt: skip
        vault = open_local_vault(str(state))

        def slow_verify(password: str, h: PasswordHash) -> bool:
            delay = switch.slow_ms()
            if delay:
                time.sleep(delay / 1000)
            return verify(password, h)

        service = await open_jit_service(jit_settings, state_dir=state, telemetry=StoreTelemetry(store), vault=vault,
                                         verifier=slow_verify)  # fmt: skip
        await service.warm()

        @web.middleware
        async def outage(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                         ) -> web.StreamResponse:  # fmt: skip
            if switch.down():
                return web.Response(status=503, text="host unavailable")
            return await handler(request)

        app = build_app(service, max_body_bytes=jit_settings.MAX_BODY_BYTES)
        app.middlewares.append(outage)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        console.print(f"JIT endpoint http://127.0.0.1:{port}{ROUTE}, flag {jit.flag_attribute}, "
                      f"{vault.count()} users flagged")  # fmt: skip
        try:
            return await _drive_and_monitor(state, store, control, reader, population, switch, vault.count,
                                            wiring.customer_app, minutes=minutes, time_scale=time_scale, rng=rng,
                                            drain_minutes=drain_minutes, console=console)  # fmt: skip
        finally:
            await runner.cleanup()
            await service.close()
            store.close()


async def _drive_and_monitor(
    state: Path, store: SqliteMonitorStore, control: httpx.AsyncClient, reader: httpx.AsyncClient,
    population: object, switch: FaultSwitch, flagged: Callable[[], int], customer_app: str, *, minutes: float,
    time_scale: float,
    rng: random.Random, drain_minutes: float, console: Console,
) -> RehearsalResult:  # fmt: skip
    from shared.monitoring.rehearsal import Population

    assert isinstance(population, Population)
    users = len(population.jit) + len(population.plain) + len(population.disabled)
    faults = switch.faults
    console.rule(f"3. {minutes:g} simulated minutes of sign-ins at time-scale {time_scale:g}"
                 + (f", faults: {', '.join(f.kind for f in faults)}" if faults else ", no faults"))  # fmt: skip

    async def token() -> str:
        return emulator_token(READER_APP).token

    baseline = baseline_failure_share(users * ACTIVITY_PER_MIN * minutes)
    rules = load_rules(overrides={"signin_failure_rate_above_baseline": round(1.5 * baseline, 3)})
    scale_min = 60.0 / time_scale  # real seconds per simulated minute
    ports = IngestPorts(
        GraphSignInLog(reader, token),
        store,
        ReportingLimiter(4, 10.0 / time_scale),
        MetricSink(TallyTelemetry(), store),
        flagged_remaining=lambda: asyncio.sleep(0, result=flagged()),
    )
    ingest = IngestSettings(overlap_s=35 * scale_min, fresh_overlap_s=10 * scale_min, first_lookback_s=5 * scale_min,
                            min_slice_s=scale_min / 60,
                            backoff_s=2 / time_scale, app_waves={customer_app: "wave-1"})  # fmt: skip
    started = time.monotonic()
    monitor_start = datetime.now(UTC)
    stop = asyncio.Event()
    result = RehearsalResult(state, state / "cutover.html", set(), {f.kind: f.alert for f in faults})

    async def monitors() -> None:
        while True:
            now = datetime.now(UTC)
            await ingest_signins(now, ports, ingest)
            states = await evaluate(rules, store, now, time_scale=time_scale, started_at=monitor_start)
            for alert in raised_alerts(states, time_scale=time_scale):
                if await dispatch_alert(alert, store, None):
                    console.print(f"[red]ALERT[/] minute {switch.minute:.1f}: {alert.key} ({alert.value:.3g})")
                result.fired.add(alert.rule)
            board = await read_dashboard(store)
            if board.flagged_remaining:
                result.flagged_series.append(board.flagged_remaining[-1][1])
            if board.pct_migrated_now is not None:
                result.pct_migrated_series.append(board.pct_migrated_now)
            if stop.is_set():
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), scale_min)

    gate = asyncio.Semaphore(16)

    async def attempt(item: Attempt) -> None:
        async with gate:
            await control.post("/_emulator/signIn", json={"username": item.username, "password": item.password,
                                                          "appId": customer_app})  # fmt: skip
            result.sign_ins += 1

    monitor_task = asyncio.create_task(monitors())
    tick_min = 0.25
    burst_at = minutes * 0.6
    burst_done = False
    pending: set[asyncio.Task[None]] = set()
    try:
        total_min = minutes + drain_minutes
        driven_until = 0.0
        while (elapsed := (time.monotonic() - started) / scale_min) < total_min:
            switch.minute = elapsed
            if elapsed < minutes:
                # As many attempts as the simulated time that passed calls for, however late this wake-up is.
                wanted = users * ACTIVITY_PER_MIN * (elapsed - driven_until)
                driven_until = elapsed
                count = int(wanted) + (1 if rng.random() < wanted - int(wanted) else 0)
                batch = [draw_attempt(population, rng) for _ in range(count)]
                if not burst_done and elapsed >= burst_at:
                    batch += burst(population, rng)
                    burst_done = True
                for item in batch:
                    task = asyncio.create_task(attempt(item))
                    pending.add(task)
                    task.add_done_callback(pending.discard)
            await asyncio.sleep(tick_min * scale_min)
        await asyncio.gather(*pending)
    finally:
        stop.set()
        await monitor_task
    console.rule("4. Dashboard")
    board = await read_dashboard(store)
    console.print(render_dashboard(board))
    result.report.write_text(render_cutover_html(board), encoding="utf-8")
    return result


def register(app: typer.Typer) -> None:
    rehearse = typer.Typer(no_args_is_help=True, help="Offline rehearsals against the tenant emulator.")
    app.add_typer(rehearse, name="rehearse")

    @rehearse.command("cutover")
    def cutover(
        users: Annotated[int, typer.Option(help="Users in the generated sample (85 % JIT).", min=20)] = 5000,
        minutes: Annotated[float, typer.Option(help="Simulated minutes of sign-ins.", min=1)] = 10,
        faults: Annotated[str, typer.Option(help="e.g. jit-down@4m,jit-slow=1500ms (see docs/monitoring.md).")] = "",
        state: Annotated[Path, typer.Option(help="State directory (emptied first).")] = Path("./cutover-rehearsal"),
        time_scale: Annotated[float, typer.Option(help="Simulated seconds per real second.")] = 30.0,
        drain_minutes: Annotated[float, typer.Option(help="Simulated minutes the monitors run on after.")] = 15,
        seed: Annotated[int, typer.Option(help="Seed of the sample and the sign-in mix.")] = 7,
        out: Annotated[Path | None, typer.Option(help="Copy cutover.html here as well.")] = None,
    ) -> None:
        """Rehearse a cutover offline: import, switch JIT on, drive sign-ins, watch, alert, report."""
        console = Console()
        try:
            parsed = parse_faults(faults)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--faults") from exc
        result = asyncio.run(rehearse_cutover(state, users=users, minutes=minutes, faults=parsed,
                                              time_scale=time_scale, seed=seed, drain_minutes=drain_minutes,
                                              console=console))  # fmt: skip
        console.rule("5. Alerts")
        for name in sorted(result.fired) or ["(none)"]:
            console.print(f"fired: {name}")
        for fault, alert in result.expected.items():
            verdict = "[green]raised[/]" if alert in result.fired else "[red]NOT raised[/]"
            console.print(f"fault {fault} → {alert}: {verdict}")
        if out is not None:
            shutil.copyfile(result.report, out)
        console.print(f"{result.sign_ins} sign-ins · report: {out or result.report} · "
                      f"watch: ciam-migrate watch --state {state}")  # fmt: skip
        raise typer.Exit(1 if result.missing else 0)
