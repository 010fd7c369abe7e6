"""Timestamps as the vendors write them (ISO 8601 with `Z`, up to 7 fractional digits) and as we send them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def parse_moment(value: Any) -> datetime | None:
    """An aware datetime from an ISO 8601 string (naive = UTC); None when it is not one."""
    if not isinstance(value, str) or not value:
        return None
    text = value.replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:  # Graph writes 7 fractional digits; Python reads at most 6
        digits = "".join(c for c in rest if c.isdigit())
        text = f"{head}.{digits[:6]}{rest[len(digits) :]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def iso_moment(moment: datetime) -> str:
    """`2026-01-02T03:04:05.678Z`: milliseconds, UTC, the form every vendor here accepts in a query."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
