"""TallyTelemetry: an in-memory Telemetry for the local host (summary at exit) and tests."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any


class TallyTelemetry:
    def __init__(self) -> None:
        self.counts: Counter[tuple[str, tuple[tuple[str, Any], ...]]] = Counter()
        self.measures: defaultdict[str, list[float]] = defaultdict(list)
        self.records: list[tuple[str, float, dict[str, Any]]] = []

    def count(self, name: str, value: int = 1, **attributes: Any) -> None:
        self.counts[(name, tuple(sorted(attributes.items())))] += value
        self.records.append((name, float(value), attributes))

    def measure(self, name: str, value: float, **attributes: Any) -> None:
        self.measures[name].append(value)
        self.records.append((name, value, attributes))
