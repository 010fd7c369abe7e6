"""`ciam-migrate submit EXPORT --source S --azure`: drop an export in the deployed app's container and follow its run.

The export is checked as `run` checks it (source, profile, format) before anything is uploaded; the upload is
a new blob under `exports/<source>/<UTC time>/`, whose Event Grid BlobCreated event starts the run in the
Functions app. Then the run is read from the Table ledger every --poll seconds, with progress (created,
already present, rejected, failed, pending), until it finishes, fails, or --timeout passes. Storage settings come
from the environment (shared/config.py Settings); no connection string, key or SAS is ever printed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cli.azure_runs import AzureRuns, AzureStorageError, Drop
from cli.settings_from_options import build_settings
from shared.config import Settings
from shared.outcomes import RunState
from shared.profiles import ProfileError, load_profile
from shared.sniff import check_export
from shared.sources import READERS, UnknownSource, UnreadableExport, get_reader

EXIT_OK, EXIT_FAILURES, EXIT_USAGE, EXIT_TIMEOUT = 0, 1, 2, 4
EXIT_CODES_HELP = (
    "Exit codes: 0 the run finished, no user failed; 1 it finished with failed users; 2 usage error, unreadable "
    "export, storage unreachable, or the run failed (its cause is printed); 4 --timeout passed first (the run goes "
    "on in Azure: `ciam-migrate status --azure RUN`)."
)
DEFAULT_TIMEOUT_S = 6 * 3600.0

console = Console()


@dataclass(frozen=True)
class Followed:
    run: RunState | None  # None: the Functions app never picked the drop up
    timed_out: bool


def pending(run: RunState) -> int:
    """Users planned for import that have no outcome yet."""
    if run.total is None:
        return 0
    valid = run.total - (run.rejected or 0) - run.other_wave
    return max(0, valid - run.created - run.already_present - run.failed)


def settled(run: RunState | None) -> bool:
    return run is not None and (run.finished_at is not None or run.error is not None or run.abandoned_at is not None)


async def follow(
    read: Callable[[], Awaitable[RunState | None]],
    timeout_s: float,
    poll_s: float,
    on_tick: Callable[[RunState | None], None] = lambda _run: None,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Followed:
    """Read the run until it settles (finished, failed, abandoned) or `timeout_s` passes."""
    deadline = clock() + timeout_s
    while True:
        run = await read()
        on_tick(run)
        if settled(run):
            return Followed(run, timed_out=False)
        left = deadline - clock()
        if left <= 0:
            return Followed(run, timed_out=True)
        await sleep(min(poll_s, left))


def describe(run: RunState | None) -> str:
    if run is None:
        return "waiting for the Functions app to pick up the export"
    if run.total is None:
        return "planning the export"
    return (
        f"importing: created {run.created:,}, already present {run.already_present:,}, rejected {run.rejected or 0:,}, "
        f"failed {run.failed:,}, pending {pending(run):,}"
    )


async def submit_and_follow(settings: Settings, export: Path, source: str, timeout_s: float, poll_s: float,
                            show_progress: bool) -> tuple[Drop, Followed]:  # fmt: skip
    async with AzureRuns(settings) as runs:
        drop = await runs.drop(export, source)
        console.print(f"Uploaded {export.name} ({drop.size:,} bytes) to {drop.url}: run [bold]{drop.run_id}[/]")

        async def read() -> RunState | None:
            return await runs.run(drop.run_id)

        if not show_progress:
            return drop, await follow(read, timeout_s, poll_s)
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=console, transient=False,
        ) as progress:  # fmt: skip
            task = progress.add_task(describe(None), total=None)

            def tick(run: RunState | None) -> None:
                if run is not None and run.total is not None:
                    valid = run.total - (run.rejected or 0) - run.other_wave
                    done = run.created + run.already_present + run.failed
                    progress.update(task, description=describe(run), total=valid, completed=done)
                else:
                    progress.update(task, description=describe(run))

            return drop, await follow(read, timeout_s, poll_s, tick)


def outcome(drop: Drop, followed: Followed) -> int:
    """Print how the run ended (or that it has not yet) and return the exit code it deserves."""
    run = followed.run
    if followed.timed_out:
        if run is None:
            console.print(
                f"[yellow]No run {drop.run_id} in the ledger yet[/]: the Functions app has not picked up the drop. "
                "Check the Event Grid subscription `export-drops` and the accept_export_drop function; a drop it "
                "refused has its reason under runs/_poison/export-drops/ in the container."
            )
        else:
            console.print(f"[yellow]Run {drop.run_id} is still running[/] ({describe(run)}); it goes on in Azure: "
                          f"`ciam-migrate status --azure {drop.run_id}`")  # fmt: skip
        return EXIT_TIMEOUT
    assert run is not None  # settled runs exist
    if run.error is not None:
        console.print(f"[red]Run {run.run_id} failed[/]: {run.error}")
        return EXIT_USAGE
    if run.abandoned_at is not None:
        console.print(f"Run {run.run_id} was abandoned; the users it created stay in the tenant.")
        return EXIT_USAGE
    console.print(
        f"[bold]Run {run.run_id}[/]: {run.total or 0:,} records → created {run.created:,}, already present "
        f"{run.already_present:,}, rejected {run.rejected or 0:,}, failed {run.failed:,}. "
        f"`ciam-migrate status --azure {run.run_id}` shows where the report is."
    )
    return EXIT_FAILURES if run.failed else EXIT_OK


def register(app: typer.Typer) -> None:
    def submit(
        export: Annotated[Path, typer.Argument(help="The export file (gzip accepted).")],
        source: Annotated[
            str | None, typer.Option(help=f"Export format (required): {', '.join(sorted(READERS))}.")
        ] = None,
        azure: Annotated[
            bool, typer.Option("--azure", help="Submit to the deployed Functions app (the only target so far).")
        ] = False,
        timeout: Annotated[
            float, typer.Option(min=0, help="Stop following after this many seconds (the run goes on).")
        ] = DEFAULT_TIMEOUT_S,
        poll: Annotated[float, typer.Option(min=0.1, help="Seconds between two reads of the ledger.")] = 5.0,
        progress: Annotated[bool, typer.Option(help="Show a progress bar while the run goes on.")] = True,
    ) -> None:
        """Upload an export to the deployed app's container, which starts its run, and follow the run."""
        if not azure:
            typer.echo("error: submit needs --azure (to import from this machine, use `ciam-migrate run`)", err=True)
            raise typer.Exit(EXIT_USAGE)
        if source is None:
            typer.echo(f"error: --source is required: one of {', '.join(sorted(READERS))}", err=True)
            raise typer.Exit(EXIT_USAGE)
        try:
            get_reader(source)
            if not export.is_file():
                raise ValueError(f"{export}: not a file (submit uploads one export file)")
            profile = load_profile(source, None)
            for blocker in profile.blockers_for_run():
                raise ProfileError(blocker)
            check_export(export, source, profile)  # before anything is uploaded
        except (UnknownSource, ProfileError, UnreadableExport, ValueError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_USAGE) from None
        try:
            drop, followed = asyncio.run(submit_and_follow(build_settings(), export, source, timeout, poll, progress))
        except AzureStorageError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_USAGE) from None
        raise typer.Exit(outcome(drop, followed))

    submit.__doc__ = f"{submit.__doc__}\n\n{EXIT_CODES_HELP}"
    app.command()(submit)
