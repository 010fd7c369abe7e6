"""`ciam-migrate longtail --state DIR --after DATE --policy reset|email-otp|disable [--dry-run]`.

After the coexistence deadline, the users still flagged for JIT (flag true, hash in the vault) get the chosen
policy in Entra and their legacy hash is purged from the vault. `--dry-run` counts and lists them (any time);
applying refuses before `--after`. Resumable: run the same command again after a crash or a refusal.
Exit codes: 0 done (or previewed); 1 some users were refused or Graph was busy (run again); 2 cannot start.
"""

from __future__ import annotations

import asyncio
import csv
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, cast

import typer

from cli.doctor_cmd import APPS_FILE_HELP
from cli.run_cmd import _default_extensions_app_id
from cli.settings_from_options import build_settings
from shared.adapters.graph.directory import GraphDirectory
from shared.adapters.local.db import StateUnavailable
from shared.adapters.local.files import StateInUse, state_lock
from shared.bootstrap import LocalHostParts, local_parts
from shared.config import Settings
from shared.credentials import CredentialConfigError
from shared.longtail import POLICIES, LongTailJournal, LongTailOutcome, LongTailUser, Policy, apply_long_tail
from shared.longtail.find import find_long_tail
from shared.mapping import MappingOptions
from shared.reconcile.tenant import TenantUnreadable, tenant_user_pages
from shared.sync.directory import SyncDirectory
from shared.sync.local import share_budget

EXIT_OK, EXIT_INCOMPLETE, EXIT_USAGE = 0, 1, 2
JOURNAL = "longtail.db"
SHOWN = 20


class NothingImported(ValueError):
    """No run in the state holds a mapping: nothing was imported, so nobody is flagged."""


async def _mapping(parts: LocalHostParts) -> MappingOptions:
    runs = [r for r in await parts.ledger.list_runs() if r.mapping is not None]
    if not runs or runs[-1].mapping is None:
        raise NothingImported("no import in this state directory (run `ciam-migrate run` first)")
    return runs[-1].mapping


def _users(parts: LocalHostParts, mapping: MappingOptions) -> AsyncIterator[list[LongTailUser]]:
    directory = parts.ports.directory
    assert isinstance(directory, GraphDirectory)
    flag = mapping.extension_name(mapping.flag_attribute)
    legacy = mapping.extension_name(mapping.legacy_id_attribute) if mapping.legacy_id_attribute else None
    names = [flag] + ([legacy] if legacy else [])
    return find_long_tail(tenant_user_pages(directory.lanes[0].client, names), parts.vault.holds_many, flag, legacy)


async def preview(settings: Settings, policy: Policy, listing: Path) -> tuple[int, int, list[LongTailUser]]:
    """(users the policy would reach now, users an earlier apply left unfinished, the first SHOWN); writes
    every user to `listing` (CSV: objectId, legacyId, email, policy)."""
    parts = local_parts(settings)
    journal = LongTailJournal(Path(settings.STATE_DIR) / JOURNAL)
    try:
        mapping = await _mapping(parts)
        count, shown = 0, list[LongTailUser]()
        listing.parent.mkdir(parents=True, exist_ok=True)
        with listing.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["objectId", "legacyId", "email", "policy"])
            async for page in _users(parts, mapping):
                count += len(page)
                shown.extend(page[: max(0, SHOWN - len(shown))])
                writer.writerows([u.object_id, u.legacy_id or "", u.email or "", policy] for u in page)
        return count, journal.open_count(), shown
    finally:
        journal.close()
        await parts.close()


async def apply(settings: Settings, policy: Policy) -> tuple[LongTailOutcome, dict[str, dict[str, int]]]:
    parts = local_parts(settings)
    journal = LongTailJournal(Path(settings.STATE_DIR) / JOURNAL)
    try:
        mapping = await _mapping(parts)
        graph = parts.ports.directory
        assert isinstance(graph, GraphDirectory)
        writer = SyncDirectory(graph, share_budget(settings, len(graph.lanes), parts.quota))
        flag = mapping.extension_name(mapping.flag_attribute)
        outcome = await apply_long_tail(_users(parts, mapping), policy, flag, writer, parts.vault, journal)
        return outcome, journal.counts()
    finally:
        journal.close()
        await parts.close()


def _line(users: Sequence[LongTailUser]) -> list[str]:
    return [f"  {u.object_id}  legacyId={u.legacy_id or '-'}  {u.email or '(no email)'}" for u in users]


def register(app: typer.Typer) -> None:
    @app.command()
    def longtail(
        after: Annotated[str, typer.Option(help="The coexistence deadline (YYYY-MM-DD): applying refuses before it.")],
        policy: Annotated[str, typer.Option(help="reset, email-otp or disable (docs/longtail.md).")],
        state: Annotated[str, typer.Option(help="State directory of the migration.")] = "./migration",
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Count and list the users; change nothing.")] = False,
        graph_url: Annotated[str | None, typer.Option(help="Graph base URL; the emulator's for a rehearsal.")] = None,
        tenant: Annotated[str | None, typer.Option(help="Tenant domain, e.g. contoso.onmicrosoft.com.")] = None,
        app_id: Annotated[list[str] | None, typer.Option("--app", help="App registration to write with.")] = None,
        apps_file: Annotated[Path | None, typer.Option("--apps-file", help=APPS_FILE_HELP)] = None,
        extensions_app_id: Annotated[str | None, typer.Option(help="The b2c-extensions-app's appId.")] = None,
    ) -> None:
        """Give the users still flagged for JIT after the deadline a policy, and purge their legacy hashes.

        Exit codes: 0 done or previewed; 1 some users refused or Graph busy (run again); 2 cannot start."""
        try:
            deadline = date.fromisoformat(after)
        except ValueError:
            typer.echo(f"error: --after {after!r}: not a date (YYYY-MM-DD)", err=True)
            raise typer.Exit(EXIT_USAGE) from None
        if policy not in POLICIES:
            typer.echo(f"error: --policy {policy!r}: one of {', '.join(POLICIES)}", err=True)
            raise typer.Exit(EXIT_USAGE)
        if not (Path(state) / "migration.db").exists():
            typer.echo(f"error: {state}: no migration state here (run `ciam-migrate run` first)", err=True)
            raise typer.Exit(EXIT_USAGE)
        chosen = cast(Policy, policy)
        if not dry_run and datetime.now(UTC).date() < deadline:
            typer.echo(f"error: the deadline {deadline} has not passed; `--dry-run` shows whom it would reach",
                       err=True)  # fmt: skip
            raise typer.Exit(EXIT_USAGE)
        try:
            settings = _default_extensions_app_id(build_settings(
                state=state, graph_url=graph_url, tenant=tenant, apps=app_id, apps_file=apps_file,
                extensions_app_id=extensions_app_id,
            ))  # fmt: skip
            if dry_run:
                listing = Path(state) / "longtail" / f"preview-{policy}.csv"
                count, unfinished, shown = asyncio.run(preview(settings, chosen, listing))
                more = f"; {unfinished} more from an earlier apply would be finished" if unfinished else ""
                typer.echo(f"Long tail after {deadline}: {count} users still flagged for JIT would get {policy}{more}")
                for line in _line(shown):
                    typer.echo(line)
                if count > len(shown):
                    typer.echo(f"  … and {count - len(shown)} more")
                typer.echo(f"Every user: {listing}. Nothing was changed.")
                return
            with state_lock(Path(state)):
                outcome, counts = asyncio.run(apply(settings, chosen))
        except (NothingImported, StateUnavailable, StateInUse, TenantUnreadable, CredentialConfigError,
                ValueError) as exc:  # fmt: skip
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_USAGE) from None
        refused = sum(outcome.refused.values())
        typer.echo(f"Long tail {policy}: {outcome.purged} users done (policy written, flag cleared, hash purged)"
                   + (f", {outcome.gone} already deleted from the tenant" if outcome.gone else "")
                   + (f"; {refused} refused ({', '.join(f'{k} {v}' for k, v in outcome.refused.items())})"
                      if refused else "")
                   + (f"; {outcome.busy} left while Graph was busy" if outcome.busy else "")
                   + f". Journal: {Path(state) / JOURNAL} {counts}")  # fmt: skip
        raise typer.Exit(EXIT_INCOMPLETE if refused or outcome.busy else EXIT_OK)
