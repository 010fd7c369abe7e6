"""`ciam-migrate decommission --state DIR [--export PATH ...]`: the decommissioning checklist, item by item.

Prints each item with ✔ or ✘ and its evidence, writes the reports archive (<state>/decommission/archive.zip
with MANIFEST.sha256 inside) and, with --json, the checklist as JSON. Exit codes: 0 every item holds; 1 at
least one does not (each is named); 2 no migration state there, or it cannot be read.
"""

from __future__ import annotations

import asyncio
import json
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from cli.settings_from_options import build_settings
from shared.adapters.local.db import StateUnavailable
from shared.adapters.local.ledger import SqliteLedger
from shared.adapters.local.queue import SqliteQueue
from shared.bootstrap import open_local_vault
from shared.decommission import CheckResult, DecommissionState, run_checklist
from shared.longtail import LongTailJournal
from shared.monitoring.sqlite_store import SqliteMonitorStore
from shared.sync.sqlite_store import SYNC_DB, SqliteSyncStore

EXIT_OK, EXIT_FAILING, EXIT_USAGE = 0, 1, 2
ARCHIVE = Path("decommission") / "archive.zip"
EXPORT_HELP = "An export that must be deleted (repeatable); every run's own export is checked too."


async def checklist(state: Path, exports: list[Path], archive: Path) -> list[CheckResult]:
    """Open what the state holds (read-only where it can), run the checklist, close everything."""
    settings = build_settings(state=str(state))
    with ExitStack() as stack:
        ledger = SqliteLedger(state / "migration.db", read_only=True)
        stack.callback(ledger.close)
        queue = SqliteQueue(state / "migration.db", read_only=True)
        stack.callback(queue.close)
        sync = SqliteSyncStore(state / SYNC_DB) if (state / SYNC_DB).exists() else None
        if sync is not None:
            stack.callback(sync.close)
        monitor = SqliteMonitorStore(state / "monitor.db") if (state / "monitor.db").exists() else None
        if monitor is not None:
            stack.callback(monitor.close)
        hashes = None
        if (state / "vault.db").exists():
            vault = open_local_vault(str(state))
            hashes = vault.count()
            vault.close()
        counts: dict[str, dict[str, int]] = {}
        last_change = None
        if (state / "longtail.db").exists():
            journal = LongTailJournal(state / "longtail.db", read_only=True)
            counts, last_change = journal.counts(), journal.last_change()
            journal.close()
        return await run_checklist(DecommissionState(
            state=state, ledger=ledger, open_messages=queue.open_by_queue(),
            changes_queue=settings.LEGACY_CHANGES_QUEUE, now=datetime.now(UTC),
            refresh_token_days=settings.DECOMMISSION_REFRESH_TOKEN_DAYS, poll_interval_s=settings.SYNC_POLL_INTERVAL_S,
            archive=archive, sync=sync, monitor=monitor, vault_hashes=hashes, longtail_counts=counts,
            longtail_last_change=last_change, exports=exports,
        ))  # fmt: skip


def register(app: typer.Typer) -> None:
    @app.command()
    def decommission(
        state: Annotated[Path, typer.Option(help="State directory of the migration.")] = Path("./migration"),
        export: Annotated[list[Path] | None, typer.Option(help=EXPORT_HELP)] = None,
        archive: Annotated[Path | None, typer.Option(help="Where to write the reports archive.")] = None,
        json_out: Annotated[Path | None, typer.Option("--json", help="Also write the checklist as JSON.")] = None,
    ) -> None:
        """Check every decommissioning item and print its evidence; archive every run's reports.

        Exit codes: 0 every item holds; 1 some do not (listed); 2 no migration state, or unreadable."""
        if not (state / "migration.db").exists():
            typer.echo(f"error: {state}: no migration state here", err=True)
            raise typer.Exit(EXIT_USAGE)
        target = archive or state / ARCHIVE
        try:
            results = asyncio.run(checklist(state, list(export or []), target))
        except StateUnavailable as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_USAGE) from None
        for result in results:
            typer.echo(f"{'✔' if result.holds else '✘'} {result.name}: {result.evidence}")
        failing = [r.name for r in results if not r.holds]
        if json_out is not None:
            json_out.write_text(json.dumps({"holds": not failing, "items": [
                {"name": r.name, "holds": r.holds, "evidence": r.evidence} for r in results]}, indent=2))  # fmt: skip
        typer.echo(f"Decommission: {len(results) - len(failing)} of {len(results)} items hold"
                   + (f"; not yet: {', '.join(failing)}" if failing else "; the legacy system can go"))  # fmt: skip
        raise typer.Exit(EXIT_FAILING if failing else EXIT_OK)
