"""`ciam-migrate run` and `ciam-migrate status`: import an export into the tenant, resumably."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cli.local_host import LocalHost, RunStopped
from cli.runs import choose_run_id
from cli.settings_from_options import build_settings, is_loopback
from shared.bootstrap import local_parts
from shared.config import Settings
from shared.handlers.workflow import Workflow
from shared.messages import Envelope, PlanExport, envelope_id
from shared.outcomes import RunState
from shared.profiles import ProfileError, load_profile
from shared.sources import READERS, UnknownSource, get_reader
from shared.stages import queue_routes

logger = logging.getLogger(__name__)
console = Console()

EXIT_OK, EXIT_FAILURES, EXIT_USAGE = 0, 1, 2


def _default_extensions_app_id(settings: Settings) -> Settings:
    if settings.EXTENSIONS_APP_ID:
        return settings
    if is_loopback(settings.GRAPH_URL):
        from emulator import DEFAULT_EXTENSIONS_APP_ID

        return settings.model_copy(update={"EXTENSIONS_APP_ID": DEFAULT_EXTENSIONS_APP_ID})
    raise typer.BadParameter("--extensions-app-id (the b2c-extensions-app's appId) is required for a real tenant")


async def execute_run(
    export: Path, source: str, settings: Settings, *, mapping: Path | None = None, show_progress: bool = True
) -> RunState:
    """Plan and import `export` in local mode until the run completes; resumes an unfinished run."""
    parts = local_parts(settings)
    try:
        run_id, resuming = choose_run_id(source, export, await parts.ledger.list_runs())
        if resuming:
            console.print(f"Resuming run [bold]{run_id}[/]")
        workflow = Workflow.from_settings(settings, apps=max(1, len(settings.APP_IDS)))
        await parts.queue.send_all(
            [
                Envelope(
                    id=envelope_id(run_id, "plan", "export"),
                    queue=settings.EXPORT_DROPS_QUEUE,
                    payload=PlanExport(
                        run_id=run_id,
                        source=source,
                        export_ref=str(export),
                        mapping_ref=str(mapping) if mapping else None,
                        chunk_size=settings.CHUNK_SIZE,
                    ),
                )
            ]
        )
        host = LocalHost(
            parts.queue,
            parts.ports,
            workflow,
            queue_routes(settings),
            # Two chunks in flight per app registration keep every lane's budget busy.
            concurrency=2 * max(1, len(settings.APP_IDS)),
        )
        if not show_progress:
            final = await host.run_until_complete(run_id)
        else:
            with Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                console=console, transient=False,
            ) as progress:  # fmt: skip
                task = progress.add_task("planning export", total=None)

                def tick(run: RunState | None) -> None:
                    if run is None or run.total is None:
                        return
                    valid = run.total - (run.rejected or 0)
                    done = run.created + run.already_present + run.failed
                    progress.update(task, description="importing users", total=valid, completed=done)

                final = await host.run_until_complete(run_id, tick)
        if final is None:
            raise RuntimeError(f"run {run_id} vanished from the ledger")
        return final
    finally:
        await parts.close()


def summarise(run: RunState, settings: Settings) -> int:
    """Print the run's outcome and where its report is; return the exit code it deserves."""
    report_path = Path(settings.STATE_DIR) / "runs" / run.run_id / "report.json"
    if run.finished_at is None:
        console.print(f"[yellow]Run {run.run_id} is not finished[/]; run the same command again to resume.")
        return EXIT_FAILURES
    report = json.loads(report_path.read_text())
    counts = report["counts"]
    console.print(
        f"[bold]Run {run.run_id}[/]: {counts['total']} records → created {counts['created']}, "
        f"already present {counts['already_present']}, rejected {counts['rejected']}, failed {counts['failed']}"
    )
    tp = report["throughput"]
    speed = (
        f"{tp['users_per_second']} users/s, write-quota utilisation {tp['write_quota_utilisation']:.0%}."
        if counts["created"]
        else "Nothing needed writing."
    )
    console.print(f"{speed} Report: {report_path}")
    if report["by_reason"]:
        console.print("Reasons: " + ", ".join(f"{k} {v}" for k, v in report["by_reason"].items()))
    return EXIT_FAILURES if counts["failed"] else EXIT_OK


def register(app: typer.Typer) -> None:
    @app.command()
    def run(
        export: Annotated[Path, typer.Argument(help="The export file (gzip accepted).")],
        source: Annotated[str, typer.Option(help=f"Export format: {', '.join(sorted(READERS))}.")] = "jsonl",
        state: Annotated[str, typer.Option(help="State directory: ledger, queue, chunks, reports.")] = "./migration",
        mapping: Annotated[
            Path | None, typer.Option(help="Mapping profile (TOML) laid over the source's default.")
        ] = None,
        graph_url: Annotated[str | None, typer.Option(help="Graph base URL; the emulator's for a rehearsal.")] = None,
        tenant: Annotated[str | None, typer.Option(help="Tenant domain, e.g. contoso.onmicrosoft.com.")] = None,
        app_id: Annotated[list[str] | None, typer.Option("--app", help="App registration client id (repeat).")] = None,
        extensions_app_id: Annotated[str | None, typer.Option(help="The b2c-extensions-app's appId.")] = None,
        chunk_size: Annotated[int | None, typer.Option(help="Users per chunk.")] = None,
        time_scale: Annotated[float | None, typer.Option(help="Emulator only: its --time-scale.")] = None,
    ) -> None:
        """Import an export into the tenant. Run the same command again to resume after a crash."""
        try:
            get_reader(source)
            load_profile(source, mapping)
            settings = _default_extensions_app_id(
                build_settings(
                    state=state, graph_url=graph_url, tenant=tenant, apps=app_id,
                    extensions_app_id=extensions_app_id, time_scale=time_scale, chunk_size=chunk_size,
                )
            )  # fmt: skip
        except (UnknownSource, ProfileError, ValueError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_USAGE) from None
        if not export.is_file():
            typer.echo(f"error: {export}: no such file", err=True)
            raise typer.Exit(EXIT_USAGE)
        try:
            final = asyncio.run(
                execute_run(export.resolve(), source, settings, mapping=mapping.resolve() if mapping else None)
            )
        except RunStopped as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_USAGE) from None
        raise typer.Exit(summarise(final, settings))

    @app.command()
    def status(
        state: Annotated[str, typer.Option(help="State directory.")] = "./migration",
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Show every run in a state directory: progress, counts, and where its report is."""
        settings = build_settings(state=state)
        if not (Path(settings.STATE_DIR) / "migration.db").exists():
            typer.echo(f"error: {state}: no migration state here", err=True)
            raise typer.Exit(EXIT_USAGE)
        runs, queue_counts = asyncio.run(_status(settings))
        if as_json:
            typer.echo(json.dumps({"runs": [r.model_dump(mode="json", exclude={"mapping"}) for r in runs],
                                   "queue": queue_counts}, indent=2))  # fmt: skip
            return
        out = Console()
        for run in runs:
            state_word = "finished" if run.finished_at else ("stopped: " + run.error if run.error else "in progress")
            planned = f"{run.chunks_reported}/{run.chunks} chunks" if run.chunks is not None else "planning"
            out.print(
                f"[bold]{run.run_id}[/] ({run.source}) {state_word} — {planned}; total {run.total}, "
                f"created {run.created}, already present {run.already_present}, rejected {run.rejected}, "
                f"failed {run.failed}"
            )
        out.print(f"queue: {queue_counts}")


async def _status(settings: Settings) -> tuple[list[RunState], dict[str, int]]:
    from shared.adapters.local.ledger import SqliteLedger
    from shared.adapters.local.queue import SqliteQueue

    db = Path(settings.STATE_DIR) / "migration.db"
    ledger, queue = SqliteLedger(db), SqliteQueue(db)
    try:
        return await ledger.list_runs(), queue.counts()
    finally:
        ledger.close()
        queue.close()
