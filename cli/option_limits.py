"""Command-line values checked against the bounds `Settings` declares, as one-line errors.

`chunk_size_problem(n)` is None for an acceptable `--chunk-size`, else the message to print (exit 2);
the bounds come from `Settings.CHUNK_SIZE`, so the option and the setting cannot disagree.
"""

from __future__ import annotations

from annotated_types import Ge, Le

from shared.config import Settings


def _bounds(field: str) -> tuple[int, int]:
    low, high = 1, 10**9
    for rule in Settings.model_fields[field].metadata:
        if isinstance(rule, Ge):
            low = int(rule.ge)  # type: ignore[call-overload]
        elif isinstance(rule, Le):
            high = int(rule.le)  # type: ignore[call-overload]
    return low, high


def chunk_size_problem(value: int | None) -> str | None:
    if value is None:
        return None
    low, high = _bounds("CHUNK_SIZE")
    if low <= value <= high:
        return None
    return f"--chunk-size must be between {low} and {high} users per chunk (got {value})"
