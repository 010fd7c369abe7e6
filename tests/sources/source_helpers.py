"""The plan command on a Typer app, as cli/main.py wires it (for CLI tests of bad files)."""

from __future__ import annotations

import typer

from cli.plan_cmd import register


def plan_app() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False, add_completion=False)
    register(app)

    @app.callback()
    def _root() -> None:
        pass

    return app
