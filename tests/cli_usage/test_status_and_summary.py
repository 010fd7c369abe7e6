"""`status` reads as sentences (no reprs, no None, report path, cause, next command) and the run
summary's rates are honest: whole run with planning, import alone beside it, and a quota share that
is measured over Graph's quota window, so it never reads "112 %" for a short burst (issue 15)."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from cli.run_cmd import run_and_report, summarise
from shared.bootstrap import local_parts
from shared.config import Settings
from shared.handlers.report import RunCounts, RunReport, Throughput, throughput_of
from shared.handlers.workflow import Workflow
from shared.outcomes import RunState
from tests.conftest import SAMPLE, settings_for

T0 = datetime(2026, 1, 1, tzinfo=UTC)
REPR = re.compile(r"None|\{'|'\}|\[\]|datetime\(")


def _run(created: int, plan_s: float, import_s: float) -> RunState:
    return RunState(
        run_id="jsonl-x-01", source="jsonl", export_ref="users.jsonl", started_at=T0,
        planned_at=T0 + timedelta(seconds=plan_s), finished_at=T0 + timedelta(seconds=plan_s + import_s),
        total=created, rejected=0, chunks=1, chunks_reported=1, created=created,
    )  # fmt: skip


WORKFLOW = Workflow.from_settings(Settings(), apps=1)


def test_rates_include_planning_and_the_quota_share_is_over_its_window() -> None:
    # The case: 250 users, 7 s of planning, under a second of import.
    tp = throughput_of(_run(250, plan_s=7.0, import_s=0.8), T0 + timedelta(seconds=7.8), WORKFLOW)
    assert tp.users_per_second == round(250 / 7.8, 2) and tp.import_users_per_second == round(250 / 0.8, 2)
    assert tp.burst_writes_per_second > 20, "a short import bursts above 20/s…"
    assert tp.write_quota_utilisation == round(250 / 3000, 3), "…yet uses 250 of the window's 3,000 writes"
    # At the quota for two whole windows, and just into a third: never over 100 %.
    at_quota = throughput_of(_run(6000, 0, 300.0), T0 + timedelta(seconds=300), WORKFLOW)
    assert at_quota.write_quota_utilisation == 1.0
    into_third = throughput_of(_run(6000, 0, 301.0), T0 + timedelta(seconds=301), WORKFLOW)
    assert into_third.write_quota_utilisation < 1.0


def _report(utilisation: float) -> RunReport:
    tp = Throughput(users_per_second=31.0, import_users_per_second=312.0, write_quota_utilisation=utilisation,
                    burst_writes_per_second=312.0, run_seconds=8.0, import_seconds=0.8,
                    quota_writes_per_second=20.0, quota_window_seconds=150.0)  # fmt: skip
    counts = RunCounts(total=250, created=250, already_present=0, rejected=0, failed=0)
    return RunReport(run_id="jsonl-x-01", source="jsonl", started_at=T0.isoformat(), finished_at=T0.isoformat(),
                     counts=counts, by_reason={}, throughput=tp)  # fmt: skip


@pytest.mark.parametrize("utilisation", [0.083, 1.12])
def test_summary_shows_both_rates_and_labels_a_figure_over_the_quota_burst(
    utilisation: float, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert summarise(_run(250, 7.0, 0.8), _report(utilisation), Settings(STATE_DIR=str(tmp_path))) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "31.0 users/s over the whole run (8.0 s, planning included)" in out, out
    assert "import alone 312.0 users/s" in out, out
    assert "112 %" not in out and "112%" not in out and "utilisation" not in out, out
    if utilisation > 1:
        assert "burst 312.0 writes/s against 20/s" in out, out
    else:
        assert "write quota used over its 150 s windows: 8%" in out, out


async def test_status_of_a_finished_and_a_planning_run_reads_as_sentences(start_emulator, tmp_path: Path) -> None:
    emulator = start_emulator()
    settings = settings_for(emulator, tmp_path)
    final, report = await run_and_report(SAMPLE, "jsonl", settings, show_progress=False)
    assert report is not None
    parts = local_parts(settings)  # a second run, still planning: no counts known yet
    try:
        await parts.ledger.save_run(RunState(run_id="csv-y-01", source="csv", export_ref="/exports/users.csv",
                                             started_at=datetime.now(UTC)))  # fmt: skip
    finally:
        await parts.close()
    result = await asyncio.to_thread(CliRunner().invoke, app, ["status", "--state", str(tmp_path)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert not REPR.search(out), out
    report_path = tmp_path / "runs" / final.run_id / "report.json"
    assert f"report: {report_path}" in out, out
    assert f"{final.total:,} records: created {final.created:,}" in out, out
    assert "id-map.csv" in out, "a finished run's next step names the id map"
    assert "csv-y-01: in progress" in out and "planning, records not counted yet" in out, out
    assert "report: written when the run finishes" in out, out
    assert f"next: `ciam-migrate run /exports/users.csv --source csv --state {tmp_path}` resumes" in out, out
    assert re.search(r"^queue: \d+ done$", out, re.M), out
