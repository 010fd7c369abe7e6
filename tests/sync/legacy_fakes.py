"""A legacy system in memory for the sync tests: its users (with a version per user) and its change feed.

`LegacyDirectory` is a LegacyState that can also serve stale reads on purpose; `ListFeed` is a ChangeFeed over a
list of hints whose oldest entries expire (retention), raising CursorExpired for a cursor that fell behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from shared.records import LegacyUser
from shared.sync.feed import ChangeHint, CursorExpired, FeedPage


class LegacyDirectory:
    def __init__(self) -> None:
        self.users: dict[str, dict[str, Any] | None] = {}
        self.versions: dict[str, int] = {}
        self.stale: dict[str, tuple[dict[str, Any] | None, int]] = {}  # what a lagging replica would answer
        self.reads = 0

    def put(self, legacy_id: str, record: dict[str, Any] | None) -> int:
        self.versions[legacy_id] = self.versions.get(legacy_id, 0) + 1
        self.users[legacy_id] = record
        return self.versions[legacy_id]

    async def read_version(self, legacy_id: str) -> tuple[LegacyUser | None, int | None]:
        self.reads += 1
        record, version = self.stale.pop(legacy_id, None) or (self.users.get(legacy_id), self.versions.get(legacy_id))
        return (LegacyUser.model_validate(record) if record else None), version

    async def read_user(self, legacy_id: str) -> LegacyUser | None:
        user, _ = await self.read_version(legacy_id)
        return user


class ListFeed:
    """Hints in order; cursor = index of the next one. Entries before `oldest` are gone (retention)."""

    source = "jsonl"

    def __init__(self, *, retention: timedelta | None = None, page_size: int = 100) -> None:
        self.hints: list[ChangeHint] = []
        self.oldest = 0
        self.retention = retention
        self.page_size = page_size
        self.reads = 0

    def add(self, hints: Sequence[ChangeHint]) -> None:
        self.hints.extend(hints)

    async def read(self, cursor: str | None) -> FeedPage:
        self.reads += 1
        start = int(cursor) if cursor is not None else self.oldest
        if start < self.oldest:
            raise CursorExpired(f"cursor {start} is older than the oldest entry {self.oldest}")
        end = min(start + self.page_size, len(self.hints))
        return FeedPage(hints=self.hints[start:end], cursor=str(end), more=end < len(self.hints))
