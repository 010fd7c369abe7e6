"""`ciam-migrate report cutover --state DIR --out cutover.html`: the cutover dashboard as an offline page."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from shared.monitoring.cutover_report import render_cutover_html
from shared.monitoring.dashboard import read_dashboard
from shared.monitoring.sqlite_store import SqliteMonitorStore


def write_cutover_report(state: Path, out: Path) -> Path:
    path = state / "monitor.db"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no monitor store here (run `ciam-migrate rehearse cutover` first)")
    store = SqliteMonitorStore(path)
    try:
        board = asyncio.run(read_dashboard(store))
    finally:
        store.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_cutover_html(board), encoding="utf-8")
    return out


def register(app: typer.Typer) -> None:
    report = typer.Typer(no_args_is_help=True, help="Reports built from a migration's state.")
    app.add_typer(report, name="report")

    @report.command("cutover")
    def cutover(
        state: Annotated[Path, typer.Option(help="The migration's state directory (holds monitor.db).")],
        out: Annotated[Path, typer.Option(help="Where to write the page.")] = Path("cutover.html"),
    ) -> None:
        """Write cutover.html: long tail, % migrated, JIT decisions and latency, alerts — no external scripts."""
        try:
            written = write_cutover_report(state, out)
        except FileNotFoundError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
        typer.echo(f"Cutover report: {written}")
