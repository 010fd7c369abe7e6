"""plan.html rendered by headless Chromium (Debian's `chromium` package): a real screenshot, no errors.

Fails, rather than skips, when /usr/bin/chromium is missing: CI must install it (apt-get install chromium).
"""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
from html.parser import HTMLParser
from importlib import metadata
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


class _Body(HTMLParser):
    """The rendered body's top-level elements, in order, with the text each holds."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = -1  # depth inside <body>; -1 before it
        self.blocks: list[tuple[str, str, str]] = []  # (tag, class, text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self.depth = 0
            return
        if self.depth == 0:
            self.blocks.append((tag, dict(attrs).get("class") or "", ""))
        if self.depth >= 0 and tag not in ("br", "img", "meta", "rect", "circle"):
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if self.depth > 0 and tag not in ("br", "img", "meta", "rect", "circle"):
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth > 0 and self.blocks:
            tag, cls, text = self.blocks[-1]
            self.blocks[-1] = (tag, cls, text + data)


def rendered_blocks(html: Path, profile: Path) -> list[tuple[str, str, str]]:
    done = chromium("--dump-dom", html.as_uri(), profile=profile)
    assert "<body" in done.stdout, done.stderr[-2000:]
    body = _Body()
    body.feed(done.stdout)
    return body.blocks


def test_a_blocking_constraint_is_a_red_banner_above_everything(tmp_path: Path) -> None:
    import typer

    app = typer.Typer(pretty_exceptions_enable=False)
    register(app)
    app.callback()(lambda: None)
    export = SAMPLES / "auth0" / "users.ndjson"
    # A trial-sized quota the sample's importable users reach: the plan is written, and exits 3.
    result = CliRunner().invoke(
        app, ["plan", str(export), "--source", "auth0", "--out", str(tmp_path), "--object-quota", "3"]
    )
    assert result.exit_code == 3, result.output
    blocks = rendered_blocks(tmp_path / "plan.html", tmp_path / "profile")
    first_tag, first_class, banner = blocks[0]
    assert (first_tag, first_class) == ("div", "blocking"), blocks[:2]
    assert "object-quota" in banner and "--accept-constraint object-quota" in banner, banner
    assert "custom-attributes" not in banner  # only what blocks
    header = next(text for tag, _, text in blocks if tag == "header")
    doc = json.loads((tmp_path / "plan.json").read_text())
    meta = doc["meta"]
    assert re.search(r"Planned \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", header), header
    assert f"ciam-migrate {metadata.version('ciam-migrate')}" in header and "source auth0" in header, header
    assert f"mapping profile sha256 {meta['profile_sha256']}" in header and len(meta["profile_sha256"]) == 16


def test_totals_say_their_base_and_custom_attributes_are_counted_once(plan_html: Path, tmp_path: Path) -> None:
    blocks = rendered_blocks(plan_html, tmp_path / "profile")
    assert blocks[0][0] == "header", "no banner when nothing blocks"
    text = " ".join(t for _, _, t in blocks)
    doc = json.loads((plan_html.parent / "plan.json").read_text())
    assert (
        f"Every figure here is of the {doc['total']:,} records in the export: {doc['valid']:,} ready to import "
        f"+ {doc['rejected']:,} rejected = {doc['total']:,}." in text
    ), text
    assert f"of the {doc['valid']:,} users ready to import" in text, "the password paths say their base"
    custom = doc["custom_attributes"]
    assert f"{custom['properties']:,} extension properties to create" in text
    assert "over 250 chars" in text and "256 chars" not in text
