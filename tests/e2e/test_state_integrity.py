"""The state directory under careless operation (issue: data-integrity defects; RELIABILITY R30, R31).

* A run killed after planning, then the export cut: the next run must not finish the old one silently.
* Two `run` processes on one state directory: the second refuses (R30).
* The state disk fills mid-run: one line naming the disk, exit ≠ 0, and after space is freed the same
  command resumes exactly once (R31) — on a real small filesystem (tmpfs; these tests need root to mount).
* A read-only or corrupt state: one line, no traceback; `status` still reads a read-only state.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli, EmulatorProcess, run_args
from tests.e2e.exports import write_export

TIME_SCALE = 20
CHUNK = 250


def planned_run(state: Path, timeout_s: float = 60) -> str:
    """Wait (bounded) until a run in `state` has been planned; its id."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(sqlite3.OperationalError):
            conn = sqlite3.connect(f"file:{state / 'migration.db'}?mode=ro", uri=True, timeout=5)
            try:
                for (body,) in conn.execute("SELECT state FROM runs"):
                    run = json.loads(body)
                    if run.get("chunks") is not None:
                        return str(run["run_id"])
            finally:
                conn.close()
        time.sleep(0.05)
    raise AssertionError("the run was never planned")


def one_line_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr[-2000:]
    assert "Traceback" not in stderr
    return lines[0]


def tenant_ids(emulator: EmulatorProcess) -> list[str | None]:
    return [legacy_id for _, legacy_id in emulator.tenant_users()]


@contextlib.contextmanager
def small_filesystem(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                             capture_output=True, check=False)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {mounted.stderr.decode(errors='replace').strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


def test_a_run_on_a_changed_export_does_not_finish_the_abandoned_run(tmp_path, emulator_process, cli: Cli):
    emulator = emulator_process(time_scale=TIME_SCALE)
    export = write_export(tmp_path / "users.jsonl", 3000, prefix="A")
    state = tmp_path / "state"
    args = run_args(export.path, emulator, state, time_scale=TIME_SCALE, chunk_size=CHUNK)
    first = cli.spawn(args, out=tmp_path / "first.out", err=tmp_path / "first.err")
    old_run = planned_run(state)
    cli.kill9(first)
    made_by_old_run = emulator.wait_quiet()
    assert made_by_old_run < len(export.valid), "the first run finished before it could be killed"

    lines = export.path.read_text().splitlines(keepends=True)[:100]
    export.path.write_text("".join(lines))
    kept = {json.loads(line)["legacyId"] for line in lines} & export.valid

    refused = cli.run(args, timeout=120)
    assert refused.returncode == 2
    message = one_line_error(refused.stderr)
    assert f"--resume {old_run}" in message and f"--abandon {old_run}" in message
    assert emulator.users() == made_by_old_run, "the refused run sent creates"

    done = cli.run([*args, "--abandon", old_run], timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "100 records" in done.stdout
    ids = tenant_ids(emulator)
    assert len(ids) == len(set(ids)), "duplicates in the tenant"
    assert len(ids) - made_by_old_run <= len(kept)
    assert set(ids) >= kept
    assert len([i for i in ids if i not in kept]) <= made_by_old_run  # nothing more of the old run was created
    status = cli.run(["status", "--state", str(state)], timeout=60)
    assert f"{old_run}: abandoned" in status.stdout, status.stdout


def test_r30_a_second_run_on_one_state_refuses_clearly_duplicates_0_corrupt_0(tmp_path, emulator_process, cli: Cli):
    emulator = emulator_process(time_scale=TIME_SCALE)
    export = write_export(tmp_path / "users.jsonl", 1500, prefix="L")
    state = tmp_path / "state"
    args = run_args(export.path, emulator, state, time_scale=TIME_SCALE, chunk_size=CHUNK)
    first = cli.spawn(args, out=tmp_path / "first.out", err=tmp_path / "first.err")
    planned_run(state)

    second = cli.run(args, timeout=60)

    assert second.returncode == 2
    message = one_line_error(second.stderr)
    assert "another ciam-migrate run" in message and f"pid {first.pid}" in message
    assert first.wait(timeout=300) == 0, (tmp_path / "first.err").read_text()[-2000:]
    ids = tenant_ids(emulator)
    assert len(ids) == len(set(ids)) == len(export.valid)
    conn = sqlite3.connect(state / "migration.db")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()


def test_r31_disk_full_mid_run_stops_with_one_line_then_resumes_once_lost_0(tmp_path, emulator_process, cli: Cli):
    emulator = emulator_process(time_scale=TIME_SCALE / 2)
    export = write_export(tmp_path / "users.jsonl", 1500, prefix="D")
    with small_filesystem(tmp_path / "disk", "32m") as disk:
        state = disk / "state"
        args = run_args(export.path, emulator, state, time_scale=TIME_SCALE / 2, chunk_size=CHUNK)
        run = cli.spawn(args, out=tmp_path / "run.out", err=tmp_path / "run.err")
        planned_run(state)
        filler = disk / "filler"
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True, check=False)

        try:
            code = run.wait(timeout=120)  # before the fix: hung here, silently
        except subprocess.TimeoutExpired:
            raise AssertionError("run hung on a full state disk") from None
        assert code != 0
        message = one_line_error((tmp_path / "run.err").read_text())
        assert str(state) in message and "disk full" in message
        made = emulator.wait_quiet()
        assert made < len(export.valid), "the run finished before the disk filled"

        filler.unlink()
        resumed = cli.run(args, timeout=300)

        assert resumed.returncode == 0, resumed.stderr[-2000:]
        assert "Resuming run" in resumed.stdout
        ids = tenant_ids(emulator)
        assert len(ids) == len(set(ids)) == len(export.valid), "lost or duplicated users"
        assert len(list((state / "runs").iterdir())) == 1


def test_a_read_only_state_reads_in_status_and_refuses_run_in_one_line(tmp_path, emulator_process, cli: Cli):
    emulator = emulator_process(time_scale=TIME_SCALE * 5)
    export = write_export(tmp_path / "users.jsonl", 60, prefix="R")
    with small_filesystem(tmp_path / "disk", "16m") as disk:
        state = disk / "state"
        args = run_args(export.path, emulator, state, time_scale=TIME_SCALE * 5, chunk_size=CHUNK)
        assert cli.run(args, timeout=120).returncode == 0
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)

        status = cli.run(["status", "--state", str(state)], timeout=60)
        again = cli.run(args, timeout=60)

        assert status.returncode == 0, status.stderr[-2000:]
        assert "finished" in status.stdout
        assert again.returncode == 2
        assert "read-only" in one_line_error(again.stderr)


def test_a_corrupt_state_is_one_line_naming_the_file(tmp_path, emulator_process, cli: Cli):
    emulator = emulator_process(time_scale=TIME_SCALE * 5)
    export = write_export(tmp_path / "users.jsonl", 20, prefix="C")
    state = tmp_path / "state"
    state.mkdir()
    (state / "migration.db").write_bytes(b"this is not a database" * 100)
    args = run_args(export.path, emulator, state, time_scale=TIME_SCALE * 5, chunk_size=CHUNK)

    for command in (args, ["status", "--state", str(state)]):
        result = cli.run(command, timeout=60)
        assert result.returncode == 2
        message = one_line_error(result.stderr)
        assert str(state / "migration.db") in message and "corrupt" in message
