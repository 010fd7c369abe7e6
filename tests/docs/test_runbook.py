"""docs/runbook.md cannot rot: every `ciam-migrate …` line in a block fenced as ```bash runbook-test
is run, in order, against a tenant emulator (its address replaces http://127.0.0.1:8765) and must exit
0; every other `ciam-migrate …` line in the runbook must name a real command and only options that
command has. Runtime: the bundled 250-user sample at time-scale 20, a few seconds per command.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from emulator import EmulatorConfig, run_in_thread

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = ROOT / "docs" / "runbook.md"
DOC_EMULATOR = "http://127.0.0.1:8765"
_FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def commands(*, tested: bool) -> list[list[str]]:
    """The `ciam-migrate` command lines of the runbook's fenced blocks (continuations joined)."""
    found: list[list[str]] = []
    for info, body in _FENCE.findall(RUNBOOK.read_text(encoding="utf-8")):
        if ("runbook-test" in info.split()) != tested:
            continue
        for line in body.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words and words[0].endswith("ciam-migrate"):
                found.append(words[1:])
    return found


def test_the_runbook_has_tested_steps_for_plan_and_run() -> None:
    tested = commands(tested=True)
    assert {c[0] for c in tested} >= {"plan", "run", "status"}, tested


def test_every_tested_runbook_command_succeeds_against_the_emulator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the runbook's relative paths (plan/, ./migration) land here
    with run_in_thread(EmulatorConfig(port=0, time_scale=20)) as emulator:
        for args in commands(tested=True):
            argv = [a.replace(DOC_EMULATOR, emulator.base_url) for a in args]
            argv = [str(ROOT / a) if a.startswith("samples/") else a for a in argv]
            result = CliRunner().invoke(app, argv)  # in process: the CLI's own code, minus interpreter start-ups
            assert result.exit_code == 0, (argv, result.stdout[-2000:], result.stderr[-2000:])
        assert (tmp_path / "plan" / "plan.html").is_file()
        # The runbook promises the second run creates nobody: check it in the state the commands left.
        status = CliRunner().invoke(app, ["status", "--state", "./migration", "--json"])
    runs = json.loads(status.stdout)["runs"]
    assert len(runs) == 2 and sum(r["created"] for r in runs) == runs[0]["total"] - runs[0]["rejected"]
    assert min(r["created"] for r in runs) == 0


def _help_for(path: list[str]) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, (path, result.output)
    return result.output


@pytest.mark.parametrize("args", commands(tested=False), ids=lambda a: " ".join(a[:2]))
def test_untested_runbook_commands_name_real_commands_and_options(args: list[str]) -> None:
    path = [args[0]] + ([args[1]] if args[0] in ("jit", "tenant") else [])  # command groups: options are the sub's
    text = _help_for(path)
    for option in (a.split("=")[0] for a in args if a.startswith("--")):
        assert option in text, f"`ciam-migrate {' '.join(path)}` has no option {option}"
