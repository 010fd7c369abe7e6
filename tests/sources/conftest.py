"""Fixtures for reader tests: read an export through the source's default profile (or a given one)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from shared.profiles import load_profile  # noqa: E402
from shared.sources import SourceItem, SourceRecord, SourceReject, UnmappedFeatures, get_reader  # noqa: E402

SAMPLES = ROOT / "samples"


class ReadResult:
    def __init__(self, items: list[SourceItem], unmapped: UnmappedFeatures) -> None:
        self.items = items
        self.unmapped = unmapped
        self.records = [i for i in items if isinstance(i, SourceRecord)]
        self.rejects = [i for i in items if isinstance(i, SourceReject)]

    def user(self, legacy_id: str):  # type: ignore[no-untyped-def]
        return next(r.user for r in self.records if r.user.legacy_id == legacy_id)


@pytest.fixture
def read() -> Callable[..., ReadResult]:
    def _read(source: str, path: Path, mapping: Path | None = None) -> ReadResult:
        options = load_profile(source, mapping).source_options()
        return ReadResult(list(get_reader(source)(path, options)), options.unmapped)

    return _read
