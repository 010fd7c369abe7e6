"""Telemetry adapters: counters and measurements, to logs locally and to Azure Monitor through OpenTelemetry.

Attributes are low-cardinality labels (stage, outcome, reason code) and never personal data or secrets.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict, deque
from functools import partial
from typing import Any

logger = logging.getLogger(__name__)


RECENT = 10_000  # TallyTelemetry keeps the latest measurements and records only: its memory is bounded


class TallyTelemetry:
    """In-memory counters and measurements: the local host's (summaries at exit) and the tests'. Counters are
    kept per (name, attributes) — attributes are bounded labels — while measurements and the record log keep
    only their latest `recent` entries, so a long-running process does not grow. Azure uses
    OpenTelemetryMetrics instead (exported to Application Insights)."""

    def __init__(self, recent: int = RECENT) -> None:
        self.counts: Counter[tuple[str, tuple[tuple[str, Any], ...]]] = Counter()
        self.measures: defaultdict[str, deque[float]] = defaultdict(partial(deque, maxlen=recent))
        self.records: deque[tuple[str, float, dict[str, Any]]] = deque(maxlen=recent)

    def count(self, name: str, value: int = 1, **attributes: Any) -> None:
        self.counts[(name, tuple(sorted(attributes.items())))] += value
        self.records.append((name, float(value), attributes))

    def measure(self, name: str, value: float, **attributes: Any) -> None:
        self.measures[name].append(value)
        self.records.append((name, value, attributes))


class OpenTelemetryMetrics:
    """Counters and histograms on the global OpenTelemetry meter (exported by azure-monitor-opentelemetry)."""

    def __init__(self) -> None:
        from opentelemetry import metrics

        self._meter = metrics.get_meter("ciam_migrate")
        self._counters: dict[str, Any] = {}
        self._histograms: dict[str, Any] = {}

    def count(self, name: str, value: int = 1, **attributes: Any) -> None:
        if name not in self._counters:
            self._counters[name] = self._meter.create_counter(name)
        self._counters[name].add(value, attributes)

    def measure(self, name: str, value: float, **attributes: Any) -> None:
        if name not in self._histograms:
            self._histograms[name] = self._meter.create_histogram(name)
        self._histograms[name].record(value, attributes)
