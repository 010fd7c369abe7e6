"""The demo's closing hint names a command that works from the user's shell, inside the venv or not."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cli.demo_cmd import cli_hint


def _script(tmp_path: Path) -> Path:
    script = tmp_path / "proj" / ".venv" / "bin" / "ciam-migrate"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    return script


def test_outside_the_venv_the_hint_is_the_script_that_ran(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = _script(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.setattr(sys, "argv", [str(script), "demo"])
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.chdir(elsewhere)
    assert cli_hint() == str(script.resolve())
    monkeypatch.chdir(tmp_path / "proj")
    assert cli_hint() == ".venv/bin/ciam-migrate"


def test_with_the_venv_on_path_the_hint_is_the_bare_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = _script(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(script), "demo"])
    monkeypatch.setenv("PATH", f"{script.parent}:/usr/bin:/bin")
    monkeypatch.chdir(tmp_path)
    assert cli_hint() == "ciam-migrate"
