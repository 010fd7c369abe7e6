"""`ciam-migrate doctor`: can this configuration import into this tenant? Read-only; exit 2 when not.

The same checks run before `run` writes anything (cli/run_cmd.py calls `preflight_tenant`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from cli.settings_from_options import build_settings
from shared.adapters.graph.lanes import build_directory
from shared.adapters.graph.readiness import Check, check_tenant, failures
from shared.config import Settings
from shared.credentials import CredentialConfigError

EXIT_OK, EXIT_NOT_READY = 0, 2
APP_HELP = (
    "App registration: CLIENT_ID[:secret-env=VAR|:secret-keyvault=URL|:cert=PATH|:federated-token-file=PATH|"
    ":managed-identity=MI_ID] (repeat: one lane, one quota per app; or --apps-file)."
)
APPS_FILE_HELP = "A TOML file of [[apps]] tables, one lane each (docs/credentials.md); instead of or beside --app."


class TenantNotReady(Exception):
    """A check failed; str() is the first failure's one-line cause and fix."""


def one_line(check: Check) -> str:
    return f"{check.name}: {check.detail}" + (f" — {check.fix}" if check.fix else "")


async def run_checks(settings: Settings, *, imports_mfa: bool = False, reads_sign_ins: bool = False) -> list[Check]:
    directory = build_directory(settings)
    try:
        return await check_tenant(directory, settings, imports_mfa=imports_mfa, reads_sign_ins=reads_sign_ins)
    finally:
        await directory.close()


async def preflight_tenant(settings: Settings) -> None:
    """Raise TenantNotReady with the first failed check, before a run writes anything."""
    failed = failures(await run_checks(settings))
    if failed:
        raise TenantNotReady(one_line(failed[0]))


def register(app: typer.Typer) -> None:
    @app.command()
    def doctor(
        graph_url: Annotated[str | None, typer.Option(help="Graph base URL; the emulator's for a rehearsal.")] = None,
        tenant: Annotated[str | None, typer.Option(help="The external tenant: id or .onmicrosoft.com domain.")] = None,
        app_id: Annotated[list[str] | None, typer.Option("--app", help=APP_HELP)] = None,
        apps_file: Annotated[Path | None, typer.Option("--apps-file", help=APPS_FILE_HELP)] = None,
        extensions_app_id: Annotated[str | None, typer.Option(help="The b2c-extensions-app's appId.")] = None,
        mfa: Annotated[bool, typer.Option(help="Also check the permission MFA import needs.")] = False,
        sign_ins: Annotated[bool, typer.Option(help="Also check the permission sign-in monitoring needs.")] = False,
    ) -> None:
        """Check tokens, Graph permissions, the extensions app and the tenant before a run. Writes nothing."""
        out = Console(soft_wrap=True)
        try:
            settings = build_settings(graph_url=graph_url, tenant=tenant, apps=app_id, apps_file=apps_file,
                                      extensions_app_id=extensions_app_id)  # fmt: skip
            if not settings.EXTENSIONS_APP_ID:
                from cli.run_cmd import _default_extensions_app_id

                settings = _default_extensions_app_id(settings)
            checks = asyncio.run(run_checks(settings, imports_mfa=mfa, reads_sign_ins=sign_ins))
        except (CredentialConfigError, ValueError, typer.BadParameter) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_NOT_READY) from None
        for check in checks:
            mark = "[yellow]![/]" if check.warning else ("[green]✓[/]" if check.ok else "[red]✗[/]")
            out.print(f"{mark} {check.name}: {check.detail}", highlight=False)
            if check.fix and not check.ok:
                out.print(f"    fix: {check.fix}", highlight=False)
        failed = failures(checks)
        if failed:
            typer.echo(f"error: {one_line(failed[0])}", err=True)
            raise typer.Exit(EXIT_NOT_READY)
        out.print("Ready: nothing was written to the tenant.")
