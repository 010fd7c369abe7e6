"""`ciam-migrate watch --state DIR`: the live cutover dashboard in the terminal (rich), from the monitor store:
% of active users migrated, users still flagged, JIT decisions, latency against the 2 s budget, alerts."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from shared.monitoring.dashboard import BUDGET_MS, Dashboard, read_dashboard
from shared.monitoring.sqlite_store import SqliteMonitorStore


def render_dashboard(board: Dashboard) -> Group:
    kpis = Table(title="Cutover", show_header=False)
    pct = board.pct_migrated_now
    kpis.add_row("% of active users migrated", f"{pct:.1f} %" if pct is not None else "–")
    remaining = board.flagged_remaining[-1][1] if board.flagged_remaining else None
    kpis.add_row("users still flagged (long tail)", f"{remaining:.0f}" if remaining is not None else "–")
    kpis.add_row("flags cleared", f"{board.flags_cleared[-1][1]:.0f}" if board.flags_cleared else "0")
    if board.latency_mean_ms is not None and board.latency_p95_ms is not None:
        colour = "red" if board.latency_p95_ms > BUDGET_MS / 2 else "green"
        kpis.add_row("JIT latency mean / p95", f"[{colour}]{board.latency_mean_ms:.0f} / {board.latency_p95_ms:.0f} ms"
                     f"[/] of {BUDGET_MS:.0f} ms ({board.latency_over_budget} over budget)")  # fmt: skip
    actions = Table(title="JIT decisions")
    actions.add_column("action")
    actions.add_column("calls", justify="right")
    for action, count in board.jit_actions.most_common():
        actions.add_row(action, str(count))
    alerts = Table(title="Alerts")
    for column in ("at", "sev", "alert", "value"):
        alerts.add_column(column)
    for alert in board.alerts[-10:]:
        alerts.add_row(alert.raised_at.strftime("%H:%M:%S"), f"Sev{alert.severity}", alert.key,
                       f"{alert.value:.4g} > {alert.threshold:.4g}")  # fmt: skip
    if not board.alerts:
        alerts.add_row("–", "–", "no alert fired", "–")
    return Group(kpis, actions, alerts)


def register(app: typer.Typer) -> None:
    @app.command()
    def watch(
        state: Annotated[Path, typer.Option(help="The migration's state directory (holds monitor.db).")],
        interval: Annotated[float, typer.Option(help="Seconds between refreshes.")] = 2.0,
        once: Annotated[bool, typer.Option(help="Print the dashboard once and exit.")] = False,
        duration: Annotated[float, typer.Option(help="Stop after this many seconds (0: until Ctrl-C).")] = 0.0,
    ) -> None:
        """Live cutover dashboard: % active users migrated, JIT outcomes, latency vs 2 s, alerts."""
        path = state / "monitor.db"
        if not path.exists():
            raise typer.BadParameter(f"{path}: no monitor store here (run `ciam-migrate rehearse cutover` or the "
                                     "ingest_signins stage first)", param_hint="--state")  # fmt: skip
        store = SqliteMonitorStore(path)
        console = Console()
        if once:
            console.print(render_dashboard(asyncio.run(read_dashboard(store))))
            return
        started = time.monotonic()
        with Live(render_dashboard(asyncio.run(read_dashboard(store))), console=console, refresh_per_second=1) as live:
            try:
                while not duration or time.monotonic() - started < duration:
                    time.sleep(interval)
                    live.update(render_dashboard(asyncio.run(read_dashboard(store))))
            except KeyboardInterrupt:
                pass
