"""Decommission against the emulator: a fresh migration fails the items that do not hold yet, each named;
after the long tail, a clean reconcile, sign-in evidence and deleting chunks and the export, every item holds;
the archive's manifest hashes verify against the run's own files."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from cli.run_cmd import execute_run
from shared.monitoring.metrics import SIGNIN_OUTCOMES, STAGE_RUN
from shared.monitoring.sqlite_store import SqliteMonitorStore
from shared.monitoring.store import MetricPoint
from tests.conftest import SAMPLE, settings_for

ITEMS = ["no pending or deferred users", "0 reconcile differences", "sync drained and stopped",
         "no legacy-credential sign-ins for 90 days (the refresh-token lifetime)", "vault empty (or long tail applied)",
         "JIT listener removable", "reports archived", "chunks and exports deleted"]  # fmt: skip


def _decommission(state: Path) -> tuple[int, dict[str, bool], str]:
    result = CliRunner().invoke(app, ["decommission", "--state", str(state)])
    marks = {line[2:].split(": ", 1)[0]: line.startswith("✔") for line in result.output.splitlines()
             if line[:1] in "✔✘"}  # fmt: skip
    return result.exit_code, marks, result.output


def _tenant_args(emulator) -> list[str]:
    return ["--graph-url", emulator.base_url, "--tenant", emulator.server.config.tenant]


def _sign_in_evidence(state: Path, *, legacy_at: datetime | None = None) -> None:
    """What sign-in ingestion records (shared/handlers/ingest_signins.py), over 95 days up to now."""
    now = datetime.now(UTC)
    store = SqliteMonitorStore(state / "monitor.db")
    points = [MetricPoint(STAGE_RUN, now - timedelta(days=d), 1, {"stage": "ingest_signins"}) for d in (95, 40, 0.01)]
    ok = {"outcome": "success", "app": "shop"}
    points += [MetricPoint(SIGNIN_OUTCOMES, now - timedelta(days=d), 1, ok | {"jit": "none"}) for d in (60, 20, 1)]
    if legacy_at is not None:
        points.append(MetricPoint(SIGNIN_OUTCOMES, legacy_at, 1, ok | {"jit": "called"}))
    asyncio.run(store.add_points(points))
    store.close()


def test_decommission_fails_each_open_item_then_holds_and_the_archive_verifies(start_emulator, tmp_path):
    emulator = start_emulator(time_scale=20)
    state, export = tmp_path / "state", tmp_path / "users.jsonl"
    export.write_text("".join(SAMPLE.read_text().splitlines(keepends=True)[:60]))
    run = asyncio.run(execute_run(export, "jsonl", settings_for(emulator, state), show_progress=False))

    code, marks, out = _decommission(state)
    assert code == 1, out
    assert list(marks) == ITEMS
    assert {name for name, holds in marks.items() if not holds} == {
        "0 reconcile differences", "no legacy-credential sign-ins for 90 days (the refresh-token lifetime)",
        "vault empty (or long tail applied)", "JIT listener removable", "chunks and exports deleted"}, out  # fmt: skip
    assert "no evidence" in out and "not yet: 0 reconcile differences" in out

    runner = CliRunner()
    tail = runner.invoke(app, ["longtail", "--state", str(state), "--after", "2026-01-01", "--policy", "reset",
                               *_tenant_args(emulator)])  # fmt: skip
    assert tail.exit_code == 0, tail.output
    clean = runner.invoke(app, ["reconcile", str(export), "--source", "jsonl", "--state", str(state),
                                "--out", str(tmp_path / "r.html"), *_tenant_args(emulator)])  # fmt: skip
    assert clean.exit_code == 0, clean.output
    _sign_in_evidence(state)
    shutil.rmtree(state / "runs" / run.run_id / "chunks", ignore_errors=True)
    export.unlink()

    code, marks, out = _decommission(state)
    assert code == 0, out
    assert list(marks) == ITEMS and all(marks.values()), out

    with zipfile.ZipFile(state / "decommission" / "archive.zip") as archive:
        manifest = dict(reversed(line.split("  ", 1)) for line in archive.read("MANIFEST.sha256").decode().splitlines())
        assert set(manifest) == set(archive.namelist()) - {"MANIFEST.sha256"}
        for name, digest in manifest.items():
            assert hashlib.sha256(archive.read(name)).hexdigest() == digest, name
    for artifact in ("report.json", "rejects.jsonl", "id-map.csv"):
        original = (state / "runs" / run.run_id / artifact).read_bytes()
        assert manifest[f"runs/{run.run_id}/{artifact}"] == hashlib.sha256(original).hexdigest()

    # A sign-in that still needed a legacy credential 10 days ago: the refresh-token window is not over.
    _sign_in_evidence(state, legacy_at=datetime.now(UTC) - timedelta(days=10))
    code, marks, out = _decommission(state)
    assert code == 1
    assert [name for name, holds in marks.items() if not holds] == [ITEMS[3]], out
    assert "1 sign-ins used a legacy credential" in out
