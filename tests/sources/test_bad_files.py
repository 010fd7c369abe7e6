"""R9: a file that cannot be read stops with one line naming file, line and cause; exit 2; no traceback.

Every reader × truncated gzip, invalid UTF-8, empty file, and the wrong --source (another vendor's
export). Checked through the CLI (typer's CliRunner), and once through a real subprocess.
"""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pytest
from source_helpers import plan_app
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
GOOD = {
    "auth0": SAMPLES / "auth0" / "users.ndjson",
    "firebase": SAMPLES / "firebase" / "users.json",
    "keycloak": SAMPLES / "keycloak" / "acme-realm.json",
    "cognito": SAMPLES / "cognito" / "list-users.json",
    "okta": SAMPLES / "okta" / "users.csv",
    "b2c": SAMPLES / "b2c" / "users.json",
    "csv": SAMPLES / "csv" / "users.csv",
}
# For each source, an export of another format (the wrong --source).
WRONG = {
    "auth0": SAMPLES / "okta" / "users.csv",
    "firebase": SAMPLES / "okta" / "users.csv",
    "keycloak": SAMPLES / "auth0" / "users.ndjson",
    "cognito": SAMPLES / "firebase" / "users.json",
    "okta": SAMPLES / "firebase" / "users.json",
    "b2c": SAMPLES / "cognito" / "import.csv",
    "csv": SAMPLES / "auth0" / "users.ndjson",
}


def run_plan(export: Path, source: str, tmp_path: Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(plan_app(), ["plan", str(export), "--source", source, "--out", str(tmp_path / "out")])
    return result.exit_code, result.stdout, result.stderr


def assert_one_line_error(stderr: str, export: Path, line: int | None, cause: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    where = f"{export}:{line}:" if line is not None else f"{export}:"
    assert lines[0].startswith(f"error: {where}"), lines[0]
    assert cause in lines[0], lines[0]


@pytest.mark.parametrize("source", sorted(GOOD))
def test_truncated_gzip(source: str, tmp_path: Path) -> None:
    data = gzip.compress(GOOD[source].read_bytes())
    export = tmp_path / f"export-{source}.gz"
    export.write_bytes(data[: len(data) * 2 // 3])
    code, _, stderr = run_plan(export, source, tmp_path)
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr
    assert lines[0].startswith(f"error: {export}:") and "gzip stream is truncated or corrupt" in lines[0]
    assert not (tmp_path / "out" / "plan.json").exists()  # nothing half-written


def _with_invalid_utf8(source: str, tmp_path: Path) -> tuple[Path, int]:
    text = GOOD[source].read_bytes()
    cut = text.index(b"\n", len(text) // 2)  # invalid bytes at the start of a line past the middle
    export = tmp_path / f"export-{source}"
    export.write_bytes(text[: cut + 1] + b"\xff\xfe broken" + text[cut + 1 :])
    return export, text[: cut + 1].count(b"\n") + 1


@pytest.mark.parametrize("source", sorted(GOOD))
def test_invalid_utf8(source: str, tmp_path: Path) -> None:
    export, _ = _with_invalid_utf8(source, tmp_path)
    code, _, stderr = run_plan(export, source, tmp_path)
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr
    assert lines[0].startswith(f"error: {export}:") and lines[0].endswith("invalid UTF-8")


def test_invalid_utf8_names_the_bad_line(tmp_path: Path) -> None:
    export, line = _with_invalid_utf8("okta", tmp_path)
    _, _, stderr = run_plan(export, "okta", tmp_path)
    assert_one_line_error(stderr, export, line, "invalid UTF-8")


@pytest.mark.parametrize("source", sorted(GOOD))
def test_empty_file(source: str, tmp_path: Path) -> None:
    export = tmp_path / f"empty-{source}"
    export.write_bytes(b"")
    code, _, stderr = run_plan(export, source, tmp_path)
    assert code == 2
    assert_one_line_error(stderr, export, None, "the file is empty")


@pytest.mark.parametrize("source", sorted(WRONG))
def test_wrong_source_is_one_error_not_thousands_of_rejects(source: str, tmp_path: Path) -> None:
    code, stdout, stderr = run_plan(WRONG[source], source, tmp_path)
    assert code == 2, stdout
    assert_one_line_error(stderr, WRONG[source], 1, "is --source right?")


def test_missing_file(tmp_path: Path) -> None:
    export = tmp_path / "nope.ndjson"
    code, _, stderr = run_plan(export, "auth0", tmp_path)
    assert code == 2
    assert_one_line_error(stderr, export, None, "cannot open")


def test_truncated_json_array_names_the_line(tmp_path: Path) -> None:
    text = GOOD["firebase"].read_text()
    export = tmp_path / "users.json"
    export.write_text(text[: len(text) // 2])
    code, _, stderr = run_plan(export, "firebase", tmp_path)
    assert code == 2
    assert "malformed or truncated JSON" in stderr and stderr.count("\n") == 1


def test_real_process_prints_no_traceback(tmp_path: Path) -> None:
    export = tmp_path / "users.ndjson.gz"
    data = gzip.compress(GOOD["auth0"].read_bytes())
    export.write_bytes(data[:-20])
    script = (
        "import sys, typer\n"
        "from cli.plan_cmd import register\n"
        "app = typer.Typer(pretty_exceptions_enable=False)\n"
        "register(app)\n"
        "app.callback()(lambda: None)\n"
        "app()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, "plan", str(export), "--source", "auth0", "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"error: {export}:")
