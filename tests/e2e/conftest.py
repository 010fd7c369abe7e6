"""End-to-end rig: the tenant emulator and the `ciam-migrate` CLI as real OS processes on 127.0.0.1.

The emulator runs as its own process so it survives `kill -9` of the CLI (docs/guarantees.md R2, R10). Every
process started here is killed on teardown; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulator import DEFAULT_EXTENSIONS_APP_ID
from tests.conftest import ROOT, emulator_stats

BIN = Path(sys.executable).parent
CLI = BIN / "ciam-migrate"
STARTUP_TIMEOUT_S = 20.0
LEGACY_ID_ATTR = f"extension_{DEFAULT_EXTENSIONS_APP_ID.replace('-', '')}_legacyId"
# Settings read the environment: keep the caller's shell from steering a test run.
_SCRUBBED_ENV = {"CHUNK_SIZE", "MAX_ATTEMPTS", "INLINE_RETRY_BUDGET_S", "STATE_DIR", "GRAPH_URL", "APP_IDS",
                 "BATCH_CONCURRENCY", "MAX_DELIVERY_COUNT", "COLUMNS", "LINES"}  # fmt: skip


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.upper() not in _SCRUBBED_ENV}
    env["PYTHONUNBUFFERED"] = "1"
    # The checkout under test, not whichever one the venv's editable install points at.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env


@dataclass
class EmulatorProcess:
    """`python -m emulator` in its own process; `base_url` makes it usable with tests.conftest helpers."""

    proc: subprocess.Popen[bytes]
    base_url: str
    log: Path

    def stats(self) -> dict[str, Any]:
        return emulator_stats(self)

    def users(self) -> int:
        return int(self.stats()["users"])

    def set_faults(self, faults: dict[str, float]) -> None:
        httpx.post(f"{self.base_url}/_emulator/faults", json=faults, timeout=10).raise_for_status()

    def save_state(self) -> None:
        httpx.post(f"{self.base_url}/_emulator/save", timeout=30).raise_for_status()

    def tenant_users(self) -> list[tuple[str, str | None]]:
        """(object id, legacyId extension) of every user, read back through Graph paging (bounded)."""
        from shared.adapters.graph.client import emulator_token

        headers = {"Authorization": "Bearer " + emulator_token().token}
        url: str | None = f"{self.base_url}/v1.0/users?$select=id,{LEGACY_ID_ATTR}&$top=999"
        found: list[tuple[str, str | None]] = []
        for _ in range(1000):  # 999 per page: bounded far above any export used here
            if not url:
                break
            response = httpx.get(url, headers=headers, timeout=30)
            response.raise_for_status()
            page = response.json()
            found.extend((u["id"], u.get(LEGACY_ID_ATTR)) for u in page["value"])
            url = page.get("@odata.nextLink")
        assert not url, "user listing did not end"
        return found

    def wait_quiet(self, *, settle_s: float = 1.0, timeout_s: float = 20.0) -> int:
        """Wait until the user count stops changing for `settle_s` (in-flight requests of a killed client)."""
        deadline = time.monotonic() + timeout_s
        last, since = self.users(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            now = self.users()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= settle_s:
                return now
        raise AssertionError(f"emulator did not settle within {timeout_s}s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):  # SIGKILL is not ignored; bounded all the same
        proc.wait(timeout=10)


@pytest.fixture
def emulator_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., EmulatorProcess]]:
    """Start `python -m emulator --port 0 …` on 127.0.0.1; each one started is killed after the test."""
    started: list[subprocess.Popen[bytes]] = []

    def start(
        *,
        time_scale: float = 100,
        faults: str = "",
        seed: int = 0,
        state: Path | None = None,
        client_apps: Path | None = None,
    ) -> EmulatorProcess:
        logs = tmp_path_factory.mktemp("emulator")
        out, errlog = logs / "stdout.log", logs / "stderr.log"
        args = [sys.executable, "-m", "emulator", "--host", "127.0.0.1", "--port", "0",
                "--time-scale", str(time_scale), "--seed", str(seed)]  # fmt: skip
        if faults:
            args += ["--faults", faults]
        if state is not None:
            args += ["--state", str(state)]
        if client_apps is not None:
            args += ["--client-apps", str(client_apps)]
        with out.open("wb") as stdout, errlog.open("wb") as stderr:
            proc = subprocess.Popen(args, cwd=ROOT, stdout=stdout, stderr=stderr, env=cli_env())
        started.append(proc)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", out.read_text(errors="replace"))
            if match:
                emulator = EmulatorProcess(proc, match.group(1), errlog)
                httpx.get(f"{emulator.base_url}/_emulator/health", timeout=10).raise_for_status()
                return emulator
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        _stop(proc)
        raise AssertionError(f"emulator did not start: {errlog.read_text(errors='replace')[-2000:]}")

    yield start
    for proc in started:
        _stop(proc)


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str
    seconds: float


@dataclass
class Cli:
    """Runs `ciam-migrate` as a subprocess; whatever is still running at teardown is killed."""

    running: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def spawn(
        self, args: list[str], *, env: dict[str, str] | None = None, out: Path, err: Path
    ) -> subprocess.Popen[bytes]:
        with out.open("ab") as stdout, err.open("ab") as stderr:
            proc = subprocess.Popen([str(CLI), *args], cwd=ROOT, stdout=stdout, stderr=stderr,
                                    env=env or cli_env())  # fmt: skip
        self.running.append(proc)
        return proc

    def run(self, args: list[str], *, env: dict[str, str] | None = None, timeout: float = 120) -> CliResult:
        started = time.monotonic()
        try:
            done = subprocess.run([str(CLI), *args], cwd=ROOT, capture_output=True, env=env or cli_env(),
                                  timeout=timeout, check=False)  # fmt: skip
        except subprocess.TimeoutExpired as exc:  # subprocess.run kills the child before raising
            raise AssertionError(f"ciam-migrate {' '.join(args[:2])} did not finish in {timeout}s") from exc
        return CliResult(done.returncode, done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace"),
                         time.monotonic() - started)  # fmt: skip

    def kill9(self, proc: subprocess.Popen[bytes]) -> bool:
        """SIGKILL; True when the process was still running (a real kill), False when it had already exited."""
        if proc.poll() is not None:
            return False
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        return proc.returncode == -signal.SIGKILL


@pytest.fixture
def cli() -> Iterator[Cli]:
    rig = Cli()
    yield rig
    for proc in rig.running:
        _stop(proc)


def run_args(export: Path, emulator: EmulatorProcess, state: Path, *, time_scale: float, chunk_size: int,
             source: str = "jsonl") -> list[str]:  # fmt: skip
    return ["run", str(export), "--source", source, "--graph-url", emulator.base_url, "--state", str(state),
            "--time-scale", str(time_scale), "--chunk-size", str(chunk_size)]  # fmt: skip


def run_dir(state: Path) -> Path:
    """The one run directory in a state dir (a resumed run keeps its id, so there must be exactly one)."""
    runs = sorted((state / "runs").iterdir())
    assert len(runs) == 1, f"expected one run, found {[r.name for r in runs]}"
    return runs[0]


def read_report(state: Path) -> dict[str, Any]:
    return json.loads((run_dir(state) / "report.json").read_text())  # type: ignore[no-any-return]


def read_id_map(state: Path) -> list[dict[str, str]]:
    import csv

    with (run_dir(state) / "id-map.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def ledger_pending(state: Path) -> set[str]:
    """Legacy ids whose ledger entry says `pending` (create sent or about to be, outcome not yet recorded).

    Read-only, from outside the CLI process, only to prove a test arranged the crash window it claims to.
    """
    db = state / "migration.db"
    if not db.exists():
        return set()
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return {row[0] for row in conn.execute("SELECT legacy_id FROM ledger WHERE outcome = 'pending'")}
        finally:
            conn.close()
    except sqlite3.OperationalError:  # schema not created yet
        return set()
