"""`rehearse cutover` at small size (600 users, 10 simulated minutes at time-scale 60): the long tail shrinks,
% migrated is > 0 and rising, every injected fault raises its alert, the fault-free run raises none; and
cutover.html renders in headless Chromium with no console errors."""

from __future__ import annotations

import asyncio
import io
import itertools
import struct
from pathlib import Path

import pytest
from rich.console import Console

from cli.rehearse_cmd import RehearsalResult, rehearse_cutover
from shared.monitoring.rehearsal import parse_faults
from tests.planning.test_plan_html_chromium import chromium

FAULTS = "jit-slow=1500ms@1m+3m,jit-down@6m"


def run(state: Path, faults: str) -> RehearsalResult:
    return asyncio.run(rehearse_cutover(state, users=600, minutes=10, faults=parse_faults(faults), time_scale=60,
                                        seed=7, drain_minutes=15, console=Console(file=io.StringIO())))  # fmt: skip


@pytest.fixture(scope="module")
def fault_free(tmp_path_factory: pytest.TempPathFactory) -> RehearsalResult:
    return run(tmp_path_factory.mktemp("rehearsal") / "state", "")


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> RehearsalResult:
    return run(tmp_path_factory.mktemp("rehearsal") / "state", FAULTS)


def test_fault_free_run_raises_no_alert_and_the_long_tail_shrinks(fault_free: RehearsalResult) -> None:
    assert fault_free.fired == set(), f"alerts on a fault-free run: {fault_free.fired}"
    flagged = fault_free.flagged_series
    migrated_share = [1 - f / flagged[0] for f in flagged]  # of the JIT cohort, over time
    assert all(b >= a for a, b in itertools.pairwise(migrated_share)), "flags never come back"
    assert migrated_share[-1] > migrated_share[0] >= 0, "% migrated rises"
    assert fault_free.pct_migrated_series and fault_free.pct_migrated_series[-1] > 0
    assert fault_free.sign_ins > 150


def test_every_injected_fault_raises_its_alert(faulty: RehearsalResult) -> None:
    assert set(faulty.expected) == {"jit-down", "jit-slow"}
    assert faulty.missing == {}, f"faults without their alert: {faulty.missing} (fired: {faulty.fired})"


def test_cutover_html_renders_in_headless_chromium(faulty: RehearsalResult, tmp_path: Path) -> None:
    page = faulty.report
    text = page.read_text(encoding="utf-8")
    assert "<script" not in text and "jit_callout_failures" in text and "@" not in text  # no address shown
    shot = tmp_path / "cutover.png"
    done = chromium(f"--screenshot={shot}", "--window-size=1280,2000", "--enable-logging=stderr", "--v=0",
                    page.as_uri(), profile=tmp_path / "profile")  # fmt: skip
    assert shot.exists(), done.stderr[-2000:]
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24]) == (1280, 2000)
    assert len(png) > 30_000
    lines = done.stderr.splitlines()
    errors = [line for line in lines if "Uncaught" in line or ("CONSOLE(" in line and "rror" in line)]
    assert errors == []
