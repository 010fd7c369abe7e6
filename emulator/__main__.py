"""`python -m emulator …` runs the same command as `ciam-migrate emulator …` (benchmarks use it)."""

from __future__ import annotations

import typer

from cli.emulator_cmd import emulator

if __name__ == "__main__":
    typer.run(emulator)
