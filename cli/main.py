"""ciam-migrate: the command line. Each command module registers itself on the one Typer app."""

from __future__ import annotations

import logging
from importlib import metadata
from typing import Annotated

import typer

from cli import (
    demo_cmd,
    doctor_cmd,
    emulator_cmd,
    jit_cmd,
    plan_cmd,
    reconcile_cmd,
    rehearse_cmd,
    report_cmd,
    run_cmd,
    sync_cmd,
    watch_cmd,
    waves_cmd,
)

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Migrate customer identities into Microsoft Entra External ID — rehearse offline, resume after a crash.",
)
for module in (demo_cmd, plan_cmd, run_cmd, doctor_cmd, sync_cmd, jit_cmd, emulator_cmd, rehearse_cmd, watch_cmd,
               report_cmd, waves_cmd, reconcile_cmd):
    module.register(app)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"ciam-migrate {metadata.version('ciam-migrate')}")
        raise typer.Exit()


@app.callback()
def _configure(
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")] = "WARNING",
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s")


def main() -> None:
    app()
