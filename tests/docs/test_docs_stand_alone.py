"""The repository's docs stand alone: nothing points at the team handbook users never see, and
docs/guarantees.md names only tests that exist, one row per guarantee R1-R32."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HANDBOOK = ("ENTRA.md", "RELIABILITY.md", "ARCHITECTURE.md", "COEXISTENCE.md", "STYLE.md", "/work/shared")


def tracked_text_files() -> list[Path]:
    names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    return [ROOT / n for n in names if Path(n).suffix in {".py", ".md", ".toml", ".bicep", ".json", ".yaml", ""}]


def test_no_file_points_at_the_team_handbook() -> None:
    me = Path(__file__).resolve()
    hits = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in tracked_text_files()
        if path.is_file() and path.resolve() != me
        for name in HANDBOOK
        if name in path.read_text(encoding="utf-8", errors="replace")
    ]
    assert hits == [], "point at docs/limits.md, docs/guarantees.md or docs/architecture.md instead"


def test_guarantees_name_existing_tests_one_row_each() -> None:
    text = (ROOT / "docs" / "guarantees.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (R\d+) \|", text, re.MULTILINE)
    assert rows == [f"R{n}" for n in range(1, 33)]
    paths = set(re.findall(r"`((?:tests|bench)/[\w/.-]+\.py)`", text))
    assert paths, "no test paths found"
    missing = sorted(p for p in paths if not (ROOT / p).is_file())
    assert missing == []
