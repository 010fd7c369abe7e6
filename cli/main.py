"""ciam-migrate: the command line. Each command module registers itself on the one Typer app.

`main()` imports only the module of the command being run (COMMANDS), so `run` does not pay for the
emulator, the rehearsal or the dashboards at start-up: a refused credential stops within the CLI's
start-up time. `--help` (no known command) and the module attribute `app` register every command.
"""

from __future__ import annotations

import importlib
import logging
import sys
from functools import cache
from typing import Annotated

import typer

# Top-level command → the module whose register(app) adds it, in the order `--help` lists them.
COMMANDS: dict[str, str] = {
    "demo": "cli.demo_cmd",
    "plan": "cli.plan_cmd",
    "run": "cli.run_cmd",
    "submit": "cli.submit_cmd",
    "status": "cli.run_cmd",
    "doctor": "cli.doctor_cmd",
    "sync": "cli.sync_cmd",
    "jit": "cli.jit_cmd",
    "vault": "cli.vault_cmd",
    "emulator": "cli.emulator_cmd",
    "rehearse": "cli.rehearse_cmd",
    "watch": "cli.watch_cmd",
    "report": "cli.report_cmd",
    "waves": "cli.waves_cmd",
    "rollback": "cli.rollback_cmd",
    "reconcile": "cli.reconcile_cmd",
    "longtail": "cli.longtail_cmd",
    "tenant": "cli.tenant_cmd",
    "decommission": "cli.decommission_cmd",
}


def _print_version(value: bool) -> None:
    if value:
        from importlib import metadata

        typer.echo(f"ciam-migrate {metadata.version('ciam-migrate')}")
        raise typer.Exit()


def _configure(
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")] = "WARNING",
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s")


def build_app(command: str | None = None) -> typer.Typer:
    """The Typer app with `command`'s module registered, or every command's when `command` is None."""
    app = typer.Typer(
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        help="Migrate customer identities into Microsoft Entra External ID — rehearse offline, resume after a crash.",
    )
    app.callback()(_configure)  # a callback keeps typer in multi-command mode with one module registered
    modules = [COMMANDS[command]] if command in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    for name in modules:
        importlib.import_module(name).register(app)
    return app


def command_of(argv: list[str]) -> str | None:
    """The command named on the command line (the first argument that is one), or None."""
    return next((arg for arg in argv if arg in COMMANDS), None)


@cache
def _full_app() -> typer.Typer:
    return build_app()


def __getattr__(name: str) -> typer.Typer:
    if name == "app":  # `from cli.main import app`: every command, as tests and docs drive it
        return _full_app()
    raise AttributeError(name)


def main() -> None:
    build_app(command_of(sys.argv[1:]))()
