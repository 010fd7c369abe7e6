"""`ciam-migrate rollback`: delete the users a run (or every run of a wave) created, so a later run recreates them.

Only users the ledger records as *created* by those runs are touched — never one counted as already
present — and each object id is verified against the tenant first (shared/rollback.py). Deletes go
through $batch within the write quota; the run lock is held throughout. Killed at any point, the same
command finishes the job. Entra keeps deleted users restorable for 30 days (deleted items).
Exit codes: 0 rolled back (or nothing left to do, or `--dry-run` listed), 1 some users were left
(not ours, or Graph kept failing: run again), 2 cannot start (bad option, unknown run or wave, a run
still unfinished, state in use or unreadable) — one line on stderr, nothing deleted.
"""

from __future__ import annotations

import asyncio
import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cli.doctor_cmd import APP_HELP, APPS_FILE_HELP
from cli.runs import UnknownRun, is_open
from cli.settings_from_options import build_settings
from shared.adapters.graph.directory import GraphDirectory
from shared.adapters.graph.errors import GraphAccessDenied
from shared.adapters.graph.removal import GraphUserRemoval
from shared.adapters.local.db import StateUnavailable
from shared.adapters.local.files import StateInUse, state_lock
from shared.bootstrap import local_parts
from shared.config import Settings
from shared.outcomes import Creation, RunState
from shared.rollback import RESTORE_WINDOW_DAYS, Rollback, RollbackTally
from shared.sync.sqlite_store import SYNC_DB, SqliteSyncStore

EXIT_OK, EXIT_LEFT, EXIT_USAGE = 0, 1, 2
SHOWN = 20  # users listed on screen; the file holds them all
console = Console(highlight=False)

RESTORE_NOTE = (
    f"Entra keeps deleted users in deleted items for {RESTORE_WINDOW_DAYS} days: within that window one can be "
    "restored (POST /directory/deletedItems/{id}/restore, or Entra admin center → Users → Deleted users); after "
    "it they are deleted permanently. A restored user is no longer in the ledger: a later run counts it as "
    "already present."
)


def pick_runs(runs: list[RunState], run_id: str | None, wave: int | None) -> list[RunState]:
    """The runs to roll back. Raises UnknownRun (one line) for no match or a run still unfinished."""
    if (run_id is None) == (wave is None):
        raise UnknownRun("give exactly one of --run RUN_ID or --wave N")
    chosen = [r for r in runs if r.run_id == run_id] if run_id else [r for r in runs if r.wave == wave]
    if not chosen:
        known = ", ".join(r.run_id for r in runs) or "none"
        raise UnknownRun(f"no run {run_id} in this state (runs: {known})" if run_id else f"no run of wave {wave} here")
    for run in chosen:
        if is_open(run):
            raise UnknownRun(
                f"run {run.run_id} is unfinished: finish it (run the same command again) or --abandon it first"
            )
    return chosen


def _target(run_id: str | None, wave: int | None) -> str:
    return f"run-{run_id}" if run_id else f"wave-{wave}"


def _write_list(path: Path, creations: list[Creation]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["legacyId", "objectId", "runId", "source"])
        writer.writerows([c.legacy_id, c.object_id, c.run_id, c.source] for c in creations)


async def _roll_back(settings: Settings, run_id: str | None, wave: int | None, dry_run: bool) -> int:
    state = Path(settings.STATE_DIR)
    parts = local_parts(settings)
    try:
        chosen = pick_runs(await parts.ledger.list_runs(), run_id, wave)
        creations = await parts.ledger.creations_of([r.run_id for r in chosen])
        names = ", ".join(r.run_id for r in chosen)
        out = state / "rollbacks" / _target(run_id, wave)
        if dry_run:
            _write_list(out.with_suffix(".dry-run.csv"), creations)
            console.print(f"[bold]Dry run[/]: rollback of {names} would delete {len(creations):,} users it created:")
            for c in creations[:SHOWN]:
                console.print(f"  {c.legacy_id}  {c.object_id}  ({c.run_id})")
            if len(creations) > SHOWN:
                console.print(f"  … and {len(creations) - SHOWN:,} more")
            console.print(f"Full list: {out.with_suffix('.dry-run.csv')}. Nothing was deleted.\n{RESTORE_NOTE}")
            return EXIT_OK
        if not isinstance(parts.ports.directory, GraphDirectory):
            raise TypeError("rollback needs the Graph directory")
        sync_db = state / SYNC_DB
        sync_store = SqliteSyncStore(sync_db) if sync_db.exists() else None  # a sync ran on this state
        rollback = Rollback(
            GraphUserRemoval(parts.ports.directory), parts.ledger, parts.vault, {r.run_id: r for r in chosen},
            sync_store,
        )
        try:
            tally = await _apply(rollback, creations)
        finally:
            if sync_store is not None:
                sync_store.close()
        if tally.finished:
            now = datetime.now(UTC)
            for run in chosen:
                if run.rolled_back_at is None:
                    await parts.ledger.save_run(run.model_copy(update={"rolled_back_at": now}))
        parts.ports.telemetry.count("users_rolled_back", tally.deleted, **({} if wave is None else {"wave": wave}))
        _write_report(out.with_suffix(".json"), chosen, tally)
        return _summarise(names, tally, out.with_suffix(".json"))
    finally:
        await parts.close()


async def _apply(rollback: Rollback, creations: list[Creation]) -> RollbackTally:
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:  # fmt: skip
        task = progress.add_task("deleting users", total=len(creations))
        return await rollback.apply(creations, lambda n: progress.advance(task, n))


def _write_report(path: Path, runs: list[RunState], tally: RollbackTally) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    left = [
        {"legacyId": c.legacy_id, "objectId": c.object_id, "runId": c.run_id, "why": why, "kind": kind}
        for kind, items in (("not_ours", tally.not_ours), ("failed", tally.failed))
        for c, why in items
    ]
    doc = {"runs": [r.run_id for r in runs], "deleted": tally.deleted, "already_gone": tally.already_gone,
           "left": left, "restore_window_days": RESTORE_WINDOW_DAYS}  # fmt: skip
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


def _summarise(names: str, tally: RollbackTally, report: Path) -> int:
    console.print(
        f"[bold]Rolled back {names}[/]: deleted {tally.deleted:,}, already gone {tally.already_gone:,}, "
        f"left alone (not ours) {len(tally.not_ours):,}, failed {len(tally.failed):,}. Report: {report}"
    )
    console.print(RESTORE_NOTE)
    if tally.failed:
        console.print("[yellow]Some deletes kept failing[/]: run the same command again to finish.")
    return EXIT_OK if tally.finished else EXIT_LEFT


def register(app: typer.Typer) -> None:
    @app.command()
    def rollback(
        state: Annotated[str, typer.Option(help="State directory.")] = "./migration",
        run: Annotated[str | None, typer.Option("--run", help="Roll back this run (see `status`).")] = None,
        wave: Annotated[int | None, typer.Option("--wave", min=1, help="Roll back every run of this wave.")] = None,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="List the users; delete nothing.")] = False,
        graph_url: Annotated[str | None, typer.Option(help="Graph base URL; the emulator's for a rehearsal.")] = None,
        tenant: Annotated[str | None, typer.Option(help="Tenant domain, e.g. contoso.onmicrosoft.com.")] = None,
        app_id: Annotated[list[str] | None, typer.Option("--app", help=APP_HELP)] = None,
        apps_file: Annotated[Path | None, typer.Option("--apps-file", help=APPS_FILE_HELP)] = None,
        time_scale: Annotated[float | None, typer.Option(help="Emulator only: its --time-scale.")] = None,
    ) -> None:
        """Delete the users a run or a wave created (verified against the tenant), their vaulted hashes and ledger
        rows, so a later run creates them again. Run the same command again to finish after a crash.

        Exit codes: 0 rolled back (or --dry-run listed); 1 some users left (not ours, or Graph kept failing: run
        again); 2 cannot start (unknown run or wave, a run unfinished, state in use or unreadable, access denied)."""
        try:
            settings = build_settings(state=state, graph_url=graph_url, tenant=tenant, apps=app_id, apps_file=apps_file,
                                      time_scale=time_scale)  # fmt: skip
        except ValueError as exc:  # an unusable --app or apps file: say what, before touching the state
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        if not (Path(settings.STATE_DIR) / "migration.db").exists():
            typer.echo(f"error: {state}: no migration state here", err=True)
            raise typer.Exit(EXIT_USAGE)
        try:
            with state_lock(Path(settings.STATE_DIR)):
                code = asyncio.run(_roll_back(settings, run, wave, dry_run))
        except (UnknownRun, StateInUse, StateUnavailable, GraphAccessDenied) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_USAGE) from None
        raise typer.Exit(code)
