"""`ciam-migrate run` and `ciam-migrate status`: import an export into the tenant, resumably.

Exit codes: 0 done, 1 finished with failed users (or not finished), 2 cannot start or go on (bad
option, another run unfinished in the state, state in use by another process, state disk full,
read-only or corrupt, unreadable export), 3 a blocking Entra constraint the plan found (object quota,
custom attributes; `--accept-constraint NAME` goes on) — each with one line on stderr saying what
to do, and for 2 and 3 before anything is written.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cli.doctor_cmd import APP_HELP, APPS_FILE_HELP, TenantNotReady, preflight_tenant
from cli.option_limits import chunk_size_problem
from cli.plan_cmd import ACCEPT_HELP, DEFAULT_TENANT, EXIT_CODES_HELP, QUOTA_HELP
from cli.runs import OtherRunUnfinished, UnknownRun, abandonable, choose_run
from cli.settings_from_options import build_settings, is_loopback
from cli.status_view import queue_line, view_run
from cli.waves_cmd import wave_problem
from shared.adapters.local.db import StateUnavailable
from shared.adapters.local.files import StateInUse, state_lock
from shared.config import Settings
from shared.credentials import CredentialConfigError, parse_apps
from shared.entra_limits import OBJECT_QUOTA
from shared.handlers.report import RunReport, load_report
from shared.handlers.workflow import Workflow
from shared.messages import Envelope, PlanExport, envelope_id
from shared.outcomes import RunState
from shared.planning import plan_document, plan_export
from shared.planning.constraints import (
    BLOCKING_NAMES,
    EXIT_CONSTRAINT,
    blocker_line,
    cannot_block,
    unaccepted_blockers,
    unknown_acceptances,
)
from shared.planning.run import export_bounds
from shared.profiles import ProfileError, load_profile
from shared.sniff import check_export
from shared.sources import READERS, UnknownSource, UnreadableExport, get_reader
from shared.sources.b2c import graph_url_of

if TYPE_CHECKING:  # the host is imported once the tenant checks passed: a refused credential exits sooner
    from shared.bootstrap import LocalHostParts

logger = logging.getLogger(__name__)
console = Console()

EXIT_OK, EXIT_FAILURES, EXIT_USAGE = 0, 1, 2


def constraint_blockers(
    export: Path, profile: Any, tenant: str | None, object_quota: int, accepted: list[str]
) -> list[str]:
    """The plan's blocking constraints the operator has not accepted, as stderr lines; reads only the export.
    The plan stage plans the export again, so the whole plan is made here only when one read's bounds cannot
    rule every blocker out (the lines are the same either way)."""
    if cannot_block(*export_bounds(export, profile), object_quota):
        return []
    doc = plan_document(plan_export(export, profile, tenant=tenant or DEFAULT_TENANT), object_quota=object_quota)
    return [blocker_line(b) for b in unaccepted_blockers(doc["constraints"], accepted)]


def _default_extensions_app_id(settings: Settings) -> Settings:
    if settings.EXTENSIONS_APP_ID:
        return settings
    if is_loopback(settings.GRAPH_URL):
        from emulator import DEFAULT_EXTENSIONS_APP_ID

        return settings.model_copy(update={"EXTENSIONS_APP_ID": DEFAULT_EXTENSIONS_APP_ID})
    raise ValueError(
        "--extensions-app-id is required for a real tenant: pass the appId of the tenant's b2c-extensions-app "
        "(App registrations → All applications)"
    )


async def execute_run(export: Path, source: str, settings: Settings, **options: Any) -> RunState:
    """Plan and import `export` in local mode until the run completes; resumes an unfinished run.

    `options` are run_and_report's (mapping, show_progress, resume, abandon)."""
    final, _ = await run_and_report(export, source, settings, **options)
    return final


async def run_and_report(
    export: Path,
    source: str,
    settings: Settings,
    *,
    mapping: Path | None = None,
    show_progress: bool = True,
    resume: str | None = None,
    abandon: str | None = None,
    wave: int | None = None,
) -> tuple[RunState, RunReport | None]:
    """`execute_run`, plus the run's report when it finished. Holds the state directory's run lock throughout.

    Raises StateInUse, StateUnavailable, OtherRunUnfinished, UnknownRun, RunStopped: each one line.
    """
    from shared.bootstrap import local_parts

    with state_lock(Path(settings.STATE_DIR)):
        parts = local_parts(settings, on_sync_change=SyncNotice(settings.SYNC_WRITE_SHARE, show_progress))
        try:
            if abandon is not None:
                await _abandon(parts, abandon)
            choice = choose_run(source, export, await parts.ledger.list_runs(), resume=resume, wave=wave)
            if choice.resuming:
                console.print(f"Resuming run [bold]{choice.run_id}[/]")
            final = await _drive(parts, settings, choice.run_id, PlanExport(
                run_id=choice.run_id, source=source, export_ref=choice.export_ref or str(export),
                mapping_ref=str(mapping) if mapping else None, chunk_size=settings.CHUNK_SIZE,
                wave=_resumed_wave(choice.run_id, await parts.ledger.list_runs(), wave),
            ), show_progress)  # fmt: skip
            if final is None:
                raise RuntimeError(f"run {choice.run_id} vanished from the ledger")
            report = await load_report(parts.ports.artifacts, final.run_id) if final.finished_at else None
            return final, report
        finally:
            await parts.close()


def _resumed_wave(run_id: str, runs: list[RunState], wave: int | None) -> int | None:
    """A resumed run keeps the wave it was planned for (`--resume RUN` names no wave)."""
    return next((r.wave for r in runs if r.run_id == run_id), wave)


class SyncNotice:
    """Tells the user when a sync beside this import starts or stops sharing the write quota (once per change)."""

    def __init__(self, share: float, show: bool) -> None:
        self.share, self.show, self.running = share, show, False

    def __call__(self, running: bool) -> None:
        if running == self.running:
            return  # every lane's budget reports the same change
        self.running = running
        if not self.show:
            return
        if running:
            console.print(f"A sync is running beside this import: it keeps {self.share:.0%} of the write quota "
                          "(SYNC_WRITE_SHARE) while it runs, and this import paces itself to the rest.")  # fmt: skip
        else:
            console.print("The sync beside this import stopped: the import uses the whole write quota again.")


async def _abandon(parts: LocalHostParts, run_id: str) -> None:
    """Cancel a run's open chunks and mark it abandoned: its users already created stay, nothing more is sent."""
    run = abandonable(run_id, await parts.ledger.list_runs())
    cancelled = parts.queue.cancel_run(run_id)
    await parts.ledger.save_run(run.model_copy(update={"abandoned_at": datetime.now(UTC)}))
    console.print(f"Abandoned run [bold]{run_id}[/]: {cancelled} open messages cancelled")


async def _drive(
    parts: LocalHostParts, settings: Settings, run_id: str, plan: PlanExport, show_progress: bool
) -> RunState | None:
    from cli.local_host import LocalHost
    from shared.stages import queue_routes

    workflow = Workflow.from_settings(settings, apps=max(1, len(settings.APP_IDS)))
    await parts.queue.send_all(
        [Envelope(id=envelope_id(run_id, "plan", "export"), queue=settings.EXPORT_PLANS_QUEUE, payload=plan)]
    )
    host = LocalHost(
        parts.queue,
        parts.ports,
        workflow,
        queue_routes(settings),
        # Two chunks per app registration, plus one: while one writes, the next is read, ledgered and hashed
        # (waiting for its turn on the budgets, see GraphDirectory.create_users) and the last one is settled.
        concurrency=2 * max(1, len(settings.APP_IDS)) + 1,
    )
    if not show_progress:
        return await host.run_until_complete(run_id)
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

        return await host.run_until_complete(run_id, tick)


def summarise(run: RunState, report: RunReport | None, settings: Settings) -> int:
    """Print the run's outcome and where its report is; return the exit code it deserves."""
    if run.finished_at is None or report is None:
        console.print(f"[yellow]Run {run.run_id} is not finished[/]; run the same command again to resume.")
        return EXIT_FAILURES
    counts = report.counts
    wave = "" if report.wave is None else f" (wave {report.wave}; {counts.other_wave} records in other waves)"
    console.print(
        f"[bold]Run {run.run_id}[/]{wave}: {counts.total} records → created {counts.created}, "
        f"already present {counts.already_present}, rejected {counts.rejected}, failed {counts.failed}"
    )
    tp = report.throughput
    speed = (
        f"{tp.users_per_second} users/s over the whole run ({tp.run_seconds:.1f} s, planning included); "
        f"import alone {tp.import_users_per_second} users/s in {tp.import_seconds:.1f} s; "
        + (
            f"write quota used over its {tp.quota_window_seconds:g} s windows: {tp.write_quota_utilisation:.0%}."
            if tp.write_quota_utilisation <= 1
            else f"burst {tp.burst_writes_per_second} writes/s against {tp.quota_writes_per_second:g}/s."
        )
        if counts.created
        else "Nothing needed writing."
    )
    report_path = Path(settings.STATE_DIR) / "runs" / run.run_id / "report.json"
    console.print(f"{speed} Report: {report_path}")
    if report.by_reason:
        console.print("Reasons: " + ", ".join(f"{k} {v}" for k, v in report.by_reason.items()))
    if report.reset_fallbacks:
        why = ", ".join(f"{k} {v}" for k, v in report.reset_fallbacks.items())
        console.print(f"Reset instead of rejected (their password hash can't be verified): {why}")
    if (groups := report.groups) is not None:
        unmapped = ", ".join(f"{name} ({n})" for name, n in list(groups.unmapped.items())[:5]) or "none"
        console.print(
            f"Groups: {groups.memberships} memberships and {groups.app_roles} app roles in place, "
            f"{groups.memberships_failed + groups.app_roles_failed} failed; unmapped legacy groups: {unmapped}"
        )
    return EXIT_FAILURES if counts.failed else EXIT_OK


def register(app: typer.Typer) -> None:
    def run(
        export: Annotated[
            Path, typer.Argument(help="The export file (gzip accepted); for --source b2c, or a Graph base URL.")
        ],
        source: Annotated[
            str | None, typer.Option(help=f"Export format (required): {', '.join(sorted(READERS))}.")
        ] = None,
        state: Annotated[str, typer.Option(help="State directory: ledger, queue, chunks, reports.")] = "./migration",
        mapping: Annotated[
            Path | None, typer.Option(help="Mapping profile (TOML) laid over the source's default.")
        ] = None,
        graph_url: Annotated[str | None, typer.Option(help="Graph base URL; the emulator's for a rehearsal.")] = None,
        tenant: Annotated[str | None, typer.Option(help="Tenant domain, e.g. contoso.onmicrosoft.com.")] = None,
        app_id: Annotated[list[str] | None, typer.Option("--app", help=APP_HELP)] = None,
        apps_file: Annotated[Path | None, typer.Option("--apps-file", help=APPS_FILE_HELP)] = None,
        extensions_app_id: Annotated[str | None, typer.Option(help="The b2c-extensions-app's appId.")] = None,
        chunk_size: Annotated[int | None, typer.Option(help="Users per chunk.")] = None,
        time_scale: Annotated[float | None, typer.Option(help="Emulator only: its --time-scale.")] = None,
        resume: Annotated[
            str | None, typer.Option(help="Finish this unfinished run (planned from another export) first.")
        ] = None,
        abandon: Annotated[
            str | None, typer.Option(help="Cancel this unfinished run's open chunks, then run the export.")
        ] = None,
        accept: Annotated[list[str] | None, typer.Option("--accept-constraint", help=ACCEPT_HELP)] = None,
        object_quota: Annotated[int, typer.Option("--object-quota", min=1, help=QUOTA_HELP)] = OBJECT_QUOTA,
        wave: Annotated[
            int | None, typer.Option("--wave", min=1, help="Import only this wave's users (`waves plan` first).")
        ] = None,
    ) -> None:
        """Import an export into the tenant. Run the same command again to resume after a crash."""
        if unknown := unknown_acceptances(accept or []):
            typer.echo(f"error: --accept-constraint {unknown[0]}: not a blocking constraint; one of "
                       f"{', '.join(BLOCKING_NAMES)}", err=True)  # fmt: skip
            raise typer.Exit(EXIT_USAGE)
        if source is None:  # no silent default: a wrong format rejects every record
            typer.echo(f"error: --source is required: one of {', '.join(sorted(READERS))}", err=True)
            raise typer.Exit(EXIT_USAGE)
        if problem := chunk_size_problem(chunk_size):
            typer.echo(f"error: {problem}", err=True)
            raise typer.Exit(EXIT_USAGE)
        if wave is not None and (problem := wave_problem(state, wave)):
            typer.echo(f"error: {problem}", err=True)
            raise typer.Exit(EXIT_USAGE)
        try:
            get_reader(source)
            profile = load_profile(source, mapping)
            for blocker in profile.blockers_for_run():
                raise ProfileError(blocker)
            check_export(export, source, profile, mapping)  # before anything is written
            blockers = constraint_blockers(export, profile, tenant, object_quota, accept or [])
            settings = _default_extensions_app_id(
                build_settings(
                    state=state, graph_url=graph_url, tenant=tenant, apps=app_id, apps_file=apps_file,
                    extensions_app_id=extensions_app_id, time_scale=time_scale, chunk_size=chunk_size,
                )
            )  # fmt: skip
        except (UnknownSource, ProfileError, UnreadableExport, ValueError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_USAGE) from None
        # A missing or unreadable export was already refused by the reader (check_export, constraint_blockers).
        live = source == "b2c" and graph_url_of(export) is not None  # a B2C tenant read through Graph
        if blockers:  # the plan's blocking constraints, before any state or tenant write
            for line in blockers:
                typer.echo(line, err=True)
            raise typer.Exit(EXIT_CONSTRAINT)
        try:  # the doctor's checks, before anything is written (a permanent error is not worth a queue)
            parse_apps(settings.APP_IDS, emulator=is_loopback(settings.GRAPH_URL))
            asyncio.run(preflight_tenant(settings))
        except (TenantNotReady, CredentialConfigError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_USAGE) from None
        from cli.local_host import RunStopped

        try:
            final, report = asyncio.run(
                run_and_report(
                    export if live else export.resolve(), source, settings,
                    mapping=mapping.resolve() if mapping else None, resume=resume, abandon=abandon, wave=wave,
                )
            )  # fmt: skip
        except (RunStopped, StateUnavailable, StateInUse, OtherRunUnfinished, UnknownRun) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_USAGE) from None
        raise typer.Exit(summarise(final, report, settings))

    run.__doc__ = f"{run.__doc__}\n\n{EXIT_CODES_HELP}"
    app.command()(run)

    @app.command()
    def status(
        run_id: Annotated[str | None, typer.Argument(help="With --azure: only this run.")] = None,
        state: Annotated[str, typer.Option(help="State directory.")] = "./migration",
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
        azure: Annotated[
            bool, typer.Option("--azure", help="Read the deployed app's runs from its Table ledger (docs/submit.md).")
        ] = False,
    ) -> None:
        """Show every run in a state directory: its state and cause, counts, report path and next command.

        Exit codes: 0 shown; 2 no migration state in that directory or it cannot be read (with --azure: the
        storage account cannot be read, or it holds no run RUN_ID)."""
        if azure or run_id is not None:
            from cli.azure_status import show_azure_status

            if not azure:
                typer.echo("error: a RUN_ID is read from the Table ledger: add --azure", err=True)
                raise typer.Exit(EXIT_USAGE)
            raise typer.Exit(show_azure_status(run_id, as_json))
        settings = build_settings(state=state)
        if not (Path(settings.STATE_DIR) / "migration.db").exists():
            typer.echo(f"error: {state}: no migration state here", err=True)
            raise typer.Exit(EXIT_USAGE)
        try:
            runs, queue_counts, dead_letters = asyncio.run(_status(settings))
        except StateUnavailable as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_USAGE) from None
        state_dir = Path(settings.STATE_DIR)
        views = [
            view_run(run, [r for m, _, r in dead_letters if m.startswith(f"{run.run_id}:")], state_dir) for run in runs
        ]
        if as_json:
            typer.echo(json.dumps({"runs": [r.model_dump(mode="json", exclude={"mapping"}) | v.as_dict()
                                            for r, v in zip(runs, views, strict=True)],
                                   "queue": queue_counts}, indent=2))  # fmt: skip
            return
        if not runs:
            typer.echo(f"no runs in {state} yet")
        for view in views:
            typer.echo("\n".join(view.lines()))
        typer.echo(queue_line(queue_counts))


async def _status(settings: Settings) -> tuple[list[RunState], dict[str, int], list[tuple[str, str, str]]]:
    from shared.adapters.local.ledger import SqliteLedger
    from shared.adapters.local.queue import SqliteQueue

    db = Path(settings.STATE_DIR) / "migration.db"
    # Read-only: `status` never writes, so it also works on a read-only or full disk.
    ledger = SqliteLedger(db, read_only=True)
    try:
        queue = SqliteQueue(db, read_only=True)
    except BaseException:
        ledger.close()
        raise
    try:
        return await ledger.list_runs(), queue.counts(), queue.dead_letters()
    finally:
        ledger.close()
        queue.close()
