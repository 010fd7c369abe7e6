"""`ciam-migrate reconcile EXPORT --source S --state DIR --out reconcile.html [--json reconcile.json]`.

Compares the export (mapped as the source's latest run mapped it) with the tenant, per user and per field,
and writes the HTML report, optionally the JSON, and <state>/reconcile/last.json for `decommission`.
Exit codes: 0 no differences, 1 differences found, 2 cannot start (bad option, unreadable export or state,
tenant unreadable). Read-only: the tenant, ledger and vault are only read.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.doctor_cmd import APPS_FILE_HELP
from cli.run_cmd import _default_extensions_app_id
from cli.settings_from_options import build_settings
from shared.adapters.graph.lanes import build_directory
from shared.adapters.local.db import StateUnavailable
from shared.adapters.local.ledger import SqliteLedger
from shared.bootstrap import open_local_vault
from shared.config import Settings
from shared.credentials import CredentialConfigError
from shared.handlers.workflow import Workflow
from shared.longtail import LongTailJournal
from shared.profiles import ProfileError, load_profile
from shared.reconcile import ReconcileInputs, ReconcileResult, reconcile_export
from shared.reconcile.report import write_reports
from shared.reconcile.tenant import TenantUnreadable, tenant_user_pages
from shared.sources import READERS, SourceItem, UnknownSource, UnreadableExport, get_reader
from shared.sync.local import mapping_for

EXIT_OK, EXIT_DIFFERENCES, EXIT_USAGE = 0, 1, 2


async def reconcile_to_files(
    export: Path, source: str, settings: Settings, *, out: Path, json_out: Path | None = None,
    mapping: Path | None = None, first_n: int = 200,
) -> ReconcileResult:  # fmt: skip
    """Run a reconcile against the tenant in `settings` and write its reports. Raises UnreadableExport,
    StateUnavailable, TenantUnreadable, ProfileError, UnknownSource."""
    state = Path(settings.STATE_DIR)
    reader = get_reader(source)
    options = load_profile(source, mapping).source_options()
    ledger = SqliteLedger(state / "migration.db")
    vault = open_local_vault(str(state)) if (state / "vault.db").exists() else None
    journal = LongTailJournal(state / "longtail.db", read_only=True) if (state / "longtail.db").exists() else None
    directory = build_directory(settings)
    try:
        mapped = await mapping_for(source, ledger, Workflow.from_settings(settings, apps=1),
                                   str(mapping) if mapping else None)  # fmt: skip
        client = directory.lanes[0].client

        def records() -> Iterator[SourceItem]:
            return reader(export, options)

        def pages(names: list[str]) -> AsyncIterator[list[dict[str, Any]]]:
            return tenant_user_pages(client, names)

        async def holds(ids: Sequence[str]) -> set[str]:
            assert vault is not None
            return vault.holds_many(ids)

        def disabled(ids: Sequence[str]) -> set[str]:
            assert journal is not None
            return {oid for oid, policy in journal.policy_of(ids).items() if policy == "disable"}

        inputs = ReconcileInputs(
            source=source, export=str(export), records=records, mapping=mapped, ledger=ledger, tenant_pages=pages,
            vault_holds=holds if vault is not None else None, first_n=first_n,
            disabled_by_long_tail=disabled if journal is not None else None,
        )  # fmt: skip
        result, work = await reconcile_export(inputs, state / "reconcile" / "work.db")
        try:
            write_reports(state, result, work, out, json_out)
        finally:
            work.close()
        return result
    finally:
        await directory.close()
        ledger.close()
        if vault is not None:
            vault.close()
        if journal is not None:
            journal.close()


def register(app: typer.Typer) -> None:
    @app.command()
    def reconcile(
        export: Annotated[Path, typer.Argument(help="The export the import read (gzip accepted).")],
        source: Annotated[
            str | None, typer.Option(help=f"Export format (required): {', '.join(sorted(READERS))}.")
        ] = None,
        state: Annotated[str, typer.Option(help="State directory of the migration.")] = "./migration",
        out: Annotated[Path, typer.Option(help="Where to write the HTML report.")] = Path("reconcile.html"),
        json_out: Annotated[Path | None, typer.Option("--json", help="Also write every difference as JSON.")] = None,
        mapping: Annotated[Path | None, typer.Option(help="Mapping profile (TOML), if the run used one.")] = None,
        graph_url: Annotated[str | None, typer.Option(help="Graph base URL; the emulator's for a rehearsal.")] = None,
        tenant: Annotated[str | None, typer.Option(help="Tenant domain, e.g. contoso.onmicrosoft.com.")] = None,
        app_id: Annotated[list[str] | None, typer.Option("--app", help="App registration to read with.")] = None,
        apps_file: Annotated[Path | None, typer.Option("--apps-file", help=APPS_FILE_HELP)] = None,
        extensions_app_id: Annotated[str | None, typer.Option(help="The b2c-extensions-app's appId.")] = None,
        first: Annotated[int, typer.Option(min=0, help="Differences shown in the HTML report.")] = 200,
    ) -> None:
        """Compare the export with the tenant, per user and field: missing, orphans, mismatches, JIT flag state.

        Exit codes: 0 no differences; 1 differences found; 2 cannot start (bad option, unreadable export,
        state or tenant)."""
        if source is None:
            typer.echo(f"error: --source is required: one of {', '.join(sorted(READERS))}", err=True)
            raise typer.Exit(EXIT_USAGE)
        if not (Path(state) / "migration.db").exists():
            typer.echo(f"error: {state}: no migration state here (run `ciam-migrate run` first)", err=True)
            raise typer.Exit(EXIT_USAGE)
        try:
            settings = _default_extensions_app_id(build_settings(
                state=state, graph_url=graph_url, tenant=tenant, apps=app_id, apps_file=apps_file,
                extensions_app_id=extensions_app_id,
            ))  # fmt: skip
            result = asyncio.run(reconcile_to_files(export.resolve(), source, settings, out=out, json_out=json_out,
                                                    mapping=mapping, first_n=first))  # fmt: skip
        except (UnknownSource, ProfileError, UnreadableExport, StateUnavailable, TenantUnreadable,
                CredentialConfigError, ValueError) as exc:  # fmt: skip
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_USAGE) from None
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(result.by_kind.items())) or "none"
        typer.echo(
            f"Reconcile {export.name}: {result.legacy_users} legacy users, {result.tenant_users} tenant users, "
            f"{result.differences} differences ({kinds}). Report: {out}" + (f", JSON: {json_out}" if json_out else "")
        )
        raise typer.Exit(EXIT_DIFFERENCES if result.differences else EXIT_OK)
