"""`ciam-migrate status --azure [RUN_ID]`: the deployed app's runs, read from its Table ledger (cli/azure_runs.py).

Exit codes: 0 shown; 2 the storage account cannot be read, or it holds no run RUN_ID.
"""

from __future__ import annotations

import asyncio
import json

import typer

from cli.azure_runs import AzureRuns, AzureStorageError, azure_view
from cli.settings_from_options import build_settings
from cli.status_view import RunView
from shared.outcomes import RunState

EXIT_OK, EXIT_USAGE = 0, 2


async def _read(run_id: str | None) -> tuple[list[RunState], list[RunView]]:
    async with AzureRuns(build_settings()) as runs:
        found = await runs.runs() if run_id is None else [r for r in [await runs.run(run_id)] if r is not None]
        return found, [azure_view(run, runs.report_url(run.run_id)) for run in found]


def show_azure_status(run_id: str | None, as_json: bool) -> int:
    try:
        found, views = asyncio.run(_read(run_id))
    except AzureStorageError as exc:
        typer.echo(f"error: {exc}", err=True)
        return EXIT_USAGE
    if run_id is not None and not found:
        typer.echo(f"error: no run {run_id} in the ledger table (`ciam-migrate status --azure` lists them)", err=True)
        return EXIT_USAGE
    if as_json:
        rows = [r.model_dump(mode="json", exclude={"mapping"}) | v.as_dict() for r, v in zip(found, views, strict=True)]
        typer.echo(json.dumps({"runs": rows}, indent=2))
        return EXIT_OK
    if not found:
        typer.echo("no runs in the ledger table yet")
    for view in views:
        typer.echo("\n".join(view.lines()))
    return EXIT_OK
