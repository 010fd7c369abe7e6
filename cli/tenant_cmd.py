"""`ciam-migrate tenant plan|apply|export`: the external tenant's setup as code (tenant.toml).

plan: one line per object (create / update / unchanged / delete with --prune), nothing written. apply: the same
walk, writing in dependency order; re-running it changes nothing. export: today's configuration as tenant.toml on
stdout. Exit codes: 0 done; 1 a Graph call failed (the line names the call and Graph's error code; apply again
once fixed: what was applied stays); 2 usage error or an unusable tenant.toml (file, key, cause), nothing written.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from shared.config import DEFAULT_GRAPH_URL
from shared.tenant.export import export_tenant
from shared.tenant.graph import TenantGraphError
from shared.tenant.model import TenantFileError, load_tenant_file
from shared.tenant.reconcile import Change, Outcome, Reconciler
from shared.tenant.secrets import SecretResolver, SecretUnavailable
from shared.tenant.session import keyvault_reader, open_tenant_graph

EXIT_OK, EXIT_GRAPH, EXIT_USAGE = 0, 1, 2
_SIGN = {
    "create": "[green]+ create   [/]",
    "update": "[yellow]~ update   [/]",
    "unchanged": "[dim]= unchanged[/]",
    "delete": "[red]- delete   [/]",
}
GRAPH_URL_HELP = "Graph base URL; the emulator's (http://127.0.0.1:PORT) for a rehearsal."
TENANT_HELP = "The external tenant, e.g. contoso.onmicrosoft.com (printed; the credential decides the tenant)."


def render_change(change: Change) -> str:
    fields = f" ({', '.join(change.fields)})" if change.fields else ""
    beta = " [magenta]\\[beta][/]" if change.beta else ""
    return f"{_SIGN[change.action]} {change.kind}: {change.name}{fields}{beta}"


def print_outcome(console: Console, outcome: Outcome, *, applied: bool) -> None:
    for change in outcome.changes:
        console.print(render_change(change), highlight=False)
    counts = {a: sum(1 for c in outcome.changes if c.action == a) for a in ("create", "update", "delete")}
    verb = "applied" if applied else "to apply"
    console.print(
        f"{len(outcome.pending)} changes {verb}: {counts['create']} create, {counts['update']} update, "
        f"{counts['delete']} delete; {len(outcome.changes) - len(outcome.pending)} unchanged",
        highlight=False,
    )
    if any(c.beta for c in outcome.changes):
        console.print(
            "[magenta]\\[beta][/]: Microsoft documents this endpoint only in Graph beta (the "
            "onPasswordSubmit custom extension and listener, JIT migration is in preview).",
            highlight=False,
        )


async def reconcile_file(path: Path, graph_url: str, *, apply: bool, prune: bool) -> Outcome:
    tenant = load_tenant_file(path)
    base = path.resolve().parent  # noqa: ASYNC240 (once, before any I/O starts)
    async with open_tenant_graph(graph_url) as (graph, credential):
        # Secret references name the operator's own variables, which Settings cannot declare.
        secrets = SecretResolver(dict(os.environ), keyvault_reader(credential))
        return await Reconciler(graph, tenant, base, apply=apply, prune=prune, secrets=secrets).run()


def _run(path: Path, tenant: str, graph_url: str, *, apply: bool, prune: bool) -> None:
    console = Console(soft_wrap=True)  # one object per line, however long
    err = Console(stderr=True, soft_wrap=True)
    try:
        outcome = asyncio.run(reconcile_file(path, graph_url, apply=apply, prune=prune))
    except (TenantFileError, SecretUnavailable, ValueError) as exc:
        err.print(f"error: {exc}", highlight=False)
        raise typer.Exit(EXIT_USAGE) from None
    except TenantGraphError as exc:
        err.print(f"error: {exc}", highlight=False)
        raise typer.Exit(EXIT_GRAPH) from None
    console.print(f"tenant {tenant} ({graph_url})", highlight=False)
    print_outcome(console, outcome, applied=apply)


def register(app: typer.Typer) -> None:
    group = typer.Typer(no_args_is_help=True, help="The tenant's setup as code: plan, apply, export tenant.toml.")
    app.add_typer(group, name="tenant")

    @group.command("plan")
    def plan(
        file: Annotated[Path, typer.Argument(help="tenant.toml")],
        tenant: Annotated[str, typer.Option(help=TENANT_HELP)],
        graph_url: Annotated[str, typer.Option(help=GRAPH_URL_HELP)] = DEFAULT_GRAPH_URL,
        prune: Annotated[bool, typer.Option(help="Also show what apply --prune would delete.")] = False,
    ) -> None:
        """Show what apply would change, object by object; writes nothing."""
        _run(file, tenant, graph_url, apply=False, prune=prune)

    @group.command("apply")
    def apply(
        file: Annotated[Path, typer.Argument(help="tenant.toml")],
        tenant: Annotated[str, typer.Option(help=TENANT_HELP)],
        graph_url: Annotated[str, typer.Option(help=GRAPH_URL_HELP)] = DEFAULT_GRAPH_URL,
        prune: Annotated[
            bool, typer.Option(help="Delete our objects (tagged by ciam-migrate) the file no longer declares.")
        ] = False,
    ) -> None:
        """Create and update what tenant.toml declares, in dependency order; idempotent."""
        _run(file, tenant, graph_url, apply=True, prune=prune)

    @group.command("export")
    def export(
        tenant: Annotated[str, typer.Option(help=TENANT_HELP)],
        graph_url: Annotated[str, typer.Option(help=GRAPH_URL_HELP)] = DEFAULT_GRAPH_URL,
    ) -> None:
        """Print today's configuration as tenant.toml (secrets as env: references to fill in)."""

        async def read() -> str:
            async with open_tenant_graph(graph_url) as (graph, _):
                return await export_tenant(graph)

        try:
            text = asyncio.run(read())
        except TenantGraphError as exc:
            Console(stderr=True).print(f"error: {exc}", highlight=False)
            raise typer.Exit(EXIT_GRAPH) from None
        sys.stdout.write(text)
