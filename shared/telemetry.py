"""Telemetry adapters: counters and measurements, to logs locally and to Azure Monitor through OpenTelemetry.

Attributes are low-cardinality labels (stage, outcome, reason code) and never personal data or secrets.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

logger = logging.getLogger(__name__)


class CountingTelemetry:
    """In-process counters; what the local host and the tests use."""

    def __init__(self) -> None:
        self.counters: Counter[str] = Counter()
        self.measurements: dict[str, list[float]] = {}

    def count(self, name: str, value: int = 1, **attributes: Any) -> None:
        key = name + "".join(f"|{k}={v}" for k, v in sorted(attributes.items()))
        self.counters[key] += value

    def measure(self, name: str, value: float, **attributes: Any) -> None:
        self.measurements.setdefault(name, []).append(value)


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
