"""cli/main.py imports only the invoked command's module: its COMMANDS table must name every command."""

from __future__ import annotations

import subprocess
import sys

import typer.main

from cli.main import COMMANDS, build_app, command_of


def _names(app: typer.Typer) -> set[str]:
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    return set(group.commands)


def test_every_registered_command_is_in_the_table_and_each_module_registers_its_names() -> None:
    assert _names(build_app()) == set(COMMANDS)
    for command, module in COMMANDS.items():
        assert command in _names(build_app(command)), f"{module} does not register {command}"


def test_the_command_is_the_first_argument_that_names_one() -> None:
    assert command_of(["--log-level", "DEBUG", "run", "plan", "--state", "report"]) == "run"
    assert command_of(["--help"]) is None


def test_run_starts_without_the_emulator_or_the_dashboards() -> None:
    heavy = ("emulator.server", "cli.demo_cmd", "cli.rehearse_cmd", "cli.watch_cmd")
    probe = (
        "import sys; sys.argv = ['ciam-migrate', 'run', '--help']\n"
        "from cli.main import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout
