"""Source readers by name. Each turns one legacy export format into LegacyUser records, streaming."""

from __future__ import annotations

from shared.sources.base import (
    SourceItem,
    SourceOptions,
    SourceReader,
    SourceRecord,
    SourceReject,
    UnknownSource,
    UnreadableExport,
)
from shared.sources.jsonl import read_jsonl

READERS: dict[str, SourceReader] = {
    "jsonl": read_jsonl,
}


def get_reader(name: str) -> SourceReader:
    try:
        return READERS[name]
    except KeyError:
        known = ", ".join(sorted(READERS))
        raise UnknownSource(f"unknown source {name!r}; choose one of: {known}") from None


__all__ = [
    "READERS",
    "SourceItem",
    "SourceOptions",
    "SourceReader",
    "SourceRecord",
    "SourceReject",
    "UnknownSource",
    "UnreadableExport",
    "get_reader",
]
