"""plan.html rendered by headless Chromium (Debian's `chromium` package): a real screenshot, no errors.

Fails, rather than skips, when /usr/bin/chromium is missing: CI must install it (apt-get install chromium).
"""

from __future__ import annotations

import os
import struct
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.plan_cmd import register

CHROMIUM = Path("/usr/bin/chromium")
SAMPLES = Path(__file__).resolve().parents[2] / "samples"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def plan_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import typer

    app = typer.Typer(pretty_exceptions_enable=False)
    register(app)
    app.callback()(lambda: None)
    out = tmp_path_factory.mktemp("plan")
    result = CliRunner().invoke(
        app, ["plan", str(SAMPLES / "auth0" / "users.ndjson"), "--source", "auth0", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out / "plan.html"


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    if not CHROMIUM.exists():
        pytest.fail("headless Chromium is needed at /usr/bin/chromium: apt-get install -y chromium")
    env = {**os.environ, "HOME": str(profile)}
    return subprocess.run(
        [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_screenshot_is_a_real_page(plan_html: Path, tmp_path: Path) -> None:
    shot = tmp_path / "plan.png"
    done = chromium(
        f"--screenshot={shot}",
        "--window-size=1280,2400",
        "--enable-logging=stderr",
        "--v=0",
        plan_html.as_uri(),
        profile=tmp_path / "profile",
    )
    assert shot.exists(), done.stderr[-2000:]
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (1280, 2400)
    assert len(png) > 30_000  # charts and tables, not a blank page
    console_errors = [
        line for line in done.stderr.splitlines() if "Uncaught" in line or ("CONSOLE(" in line and "rror" in line)
    ]
    assert console_errors == []


def test_dom_holds_the_rendered_plan(plan_html: Path, tmp_path: Path) -> None:
    done = chromium("--dump-dom", plan_html.as_uri(), profile=tmp_path / "profile")
    dom = done.stdout
    assert "Migration plan" in dom and "Rejections by reason" in dom and "invalid_email" in dom
    assert dom.count("<svg") >= 5 and "<rect" in dom
    assert "http://" not in dom.replace("http://www.w3.org/2000/svg", "")  # nothing fetched from the network
    assert "https://" not in dom
