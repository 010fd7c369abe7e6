"""docs/guarantees.md R9 on `ciam-migrate run`: an export that cannot be read stops the run with exit code 2 and one
error line naming the file (and the line, where there is one) and the cause; no traceback; nothing imported.

The truncated gzip and the invalid UTF-8 byte sit well past the first 64 KB read, after hundreds of good records,
so a planner that imported as it streamed (instead of stopping before any ImportChunk is emitted) would leave
users in the tenant, and a line counter that only counted the first block would name the wrong line.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import cli_env, run_args
from tests.e2e.exports import write_export


def _truncated_gzip(tmp: Path) -> tuple[Path, str, int | None]:
    plain = write_export(tmp / "plain.jsonl", 1500).path.read_bytes()
    packed = gzip.compress(plain)
    path = tmp / "export.jsonl.gz"
    path.write_bytes(packed[: int(len(packed) * 0.6)])
    return path, "jsonl", None  # the line is wherever the stream ends; checked to be > 1 below


def _empty(tmp: Path) -> tuple[Path, str, int | None]:
    path = tmp / "empty.jsonl"
    path.write_bytes(b"")
    return path, "jsonl", None


BAD_UTF8_LINE = 700


def _invalid_utf8(tmp: Path) -> tuple[Path, str, int | None]:
    lines = write_export(tmp / "plain.jsonl", 1000).path.read_bytes().split(b"\n")
    lines[BAD_UTF8_LINE - 1] = lines[BAD_UTF8_LINE - 1].replace(b'"Test"', b'"T\xff\xfest"')
    path = tmp / "latin.jsonl"
    path.write_bytes(b"\n".join(lines))
    assert len(b"\n".join(lines[: BAD_UTF8_LINE - 1])) > 1 << 16, "the bad byte must be past the first read block"
    return path, "jsonl", BAD_UTF8_LINE


def _csv_as_jsonl(tmp: Path) -> tuple[Path, str, int | None]:
    path = tmp / "users.csv"
    path.write_text("legacyId,email\nc1,c1@example.com\nc2,c2@example.com\n", encoding="utf-8")
    return path, "jsonl", 1


CASES: dict[str, Callable[[Path], tuple[Path, str, int | None]]] = {
    "truncated-gzip": _truncated_gzip,
    "empty": _empty,
    "invalid-utf8": _invalid_utf8,
    "csv-with-source-jsonl": _csv_as_jsonl,
}
CAUSES = {"truncated-gzip": "gzip", "empty": "empty", "invalid-utf8": "UTF-8", "csv-with-source-jsonl": "JSON"}


def _run_unreadable(case: str, tmp_path: Path, emulator, cli, env: dict[str, str] | None = None):
    path, source, line = CASES[case](tmp_path)
    state = tmp_path / "state"
    result = cli.run(run_args(path, emulator, state, time_scale=100, chunk_size=100, source=source), env=env)
    return path, line, state, result


@pytest.mark.parametrize("case", sorted(CASES))
def test_r9_unreadable_export_exits_2_names_file_and_line_imports_nothing(case, tmp_path, emulator_process, cli):
    emulator = emulator_process(time_scale=100)
    path, line, state, result = _run_unreadable(case, tmp_path, emulator, cli)

    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr[-3000:]
    # Rich may fold a long message over several lines (see the one-line test below); the text is what counts.
    message = "".join(result.stderr.splitlines())
    assert message.startswith("error: "), result.stderr
    assert str(path) in message, f"the error does not name the file: {result.stderr!r}"
    assert CAUSES[case] in message, f"the error does not give the cause: {result.stderr!r}"
    if line is not None:
        assert f"{path}:{line}:" in message, f"the error does not name line {line}: {result.stderr!r}"
    if case == "truncated-gzip":
        after = message.split(f"{path}:", 1)[1].split(":", 1)[0]
        assert after.isdigit() and int(after) > 1, f"no line number past the good records: {result.stderr!r}"

    stats = emulator.stats()
    assert stats["users"] == 0, f"{stats['users']} users imported from an unreadable export"
    assert sum(a["writes"] for a in stats["apps"].values()) == 0, stats["apps"]
    if (state / "migration.db").exists():  # whatever run was recorded is not finished and imported nobody
        status = cli.run(["status", "--state", str(state), "--json"], timeout=60)
        for run in json.loads(status.stdout)["runs"]:
            assert run["finished_at"] is None and run["created"] == 0, run


@pytest.mark.parametrize("case", ["empty", "invalid-utf8"])
def test_r9_running_an_unreadable_export_again_gives_the_same_error(case, tmp_path, emulator_process, cli):
    emulator = emulator_process(time_scale=100)
    path, _, state, first = _run_unreadable(case, tmp_path, emulator, cli)
    assert first.returncode == 2
    again = cli.run(run_args(path, emulator, state, time_scale=100, chunk_size=100))
    assert (again.returncode, again.stderr) == (first.returncode, first.stderr), again.stdout
    status = cli.run(["status", "--state", str(state), "--json"], timeout=60)
    if status.returncode == 2:  # refused before anything was recorded: no state at all
        assert "no migration state here" in status.stderr, status.stderr
    else:
        assert all(run["error"] for run in json.loads(status.stdout)["runs"]), status.stdout
    assert emulator.users() == 0


@pytest.mark.parametrize("case", ["truncated-gzip", "csv-with-source-jsonl"])
def test_r9_unreadable_export_error_is_exactly_one_line(case, tmp_path, emulator_process, cli):
    emulator = emulator_process(time_scale=100)
    _, _, _, result = _run_unreadable(case, tmp_path, emulator, cli, env=cli_env(COLUMNS="80"))
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1, result.stderr


def test_r9_error_names_a_file_with_brackets_in_its_name(tmp_path, emulator_process, cli):
    emulator = emulator_process(time_scale=100)
    path = tmp_path / "users [final].jsonl"
    path.write_bytes(b"")
    result = cli.run(run_args(path, emulator, tmp_path / "state", time_scale=100, chunk_size=100))
    assert result.returncode == 2
    assert "users [final].jsonl" in "".join(result.stderr.splitlines()), result.stderr
