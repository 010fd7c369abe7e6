"""Cursor text for the live feeds: versioned compact JSON, plus a bounded memory of event ids already emitted.

A cursor is opaque to the poller; only the feed that wrote it reads it. A cursor the feed cannot read (another
source's, a hand-edited one) is a FeedMisconfigured error, not a silent restart. `SeenIds` remembers short
digests of event ids inside the overlap window so a re-read window yields each event once; it is bounded
(oldest dropped first), and a dropped id only costs a duplicate hint, which the apply stage dedupes by change id.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from shared.sync.feeds.errors import FeedMisconfigured

VERSION = 1


def encode(source: str, state: dict[str, Any]) -> str:
    return json.dumps({"v": VERSION, "src": source, **state}, separators=(",", ":"), sort_keys=True)


def decode(source: str, cursor: str | None) -> dict[str, Any] | None:
    if cursor is None:
        return None
    try:
        state = json.loads(cursor)
    except ValueError:
        state = None
    if not isinstance(state, dict) or state.get("v") != VERSION or state.get("src") != source:
        raise FeedMisconfigured(f"{source}: the stored cursor was not written by the {source} feed; reset it")
    return state


def digest(event_id: str) -> str:
    return hashlib.blake2b(event_id.encode(), digest_size=6).hexdigest()


class SeenIds:
    """Digests of event ids with the time (epoch ms) each event carries, oldest first."""

    def __init__(self, entries: Iterable[tuple[str, int]] = (), limit: int = 2000) -> None:
        self.limit = limit
        self._entries: dict[str, int] = dict(entries)

    @classmethod
    def load(cls, raw: Any, limit: int) -> SeenIds:
        pairs = [(str(d), int(t)) for d, t in raw] if isinstance(raw, list) else []
        return cls(pairs, limit)

    def __contains__(self, event_id: str) -> bool:
        return digest(event_id) in self._entries

    def add(self, event_id: str, at_ms: int) -> None:
        self._entries[digest(event_id)] = at_ms

    def keep_since(self, horizon_ms: int) -> None:
        self._entries = {d: t for d, t in self._entries.items() if t >= horizon_ms}
        if len(self._entries) > self.limit:
            newest = sorted(self._entries.items(), key=lambda item: item[1])[-self.limit :]
            self._entries = dict(newest)

    def dump(self) -> list[list[Any]]:
        return [[d, t] for d, t in self._entries.items()]
