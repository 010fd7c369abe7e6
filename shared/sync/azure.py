"""The sync's Azure runtime, on top of the import's AzureRuntime (shared.bootstrap builds it, once per worker).

The sync store is its own Table (SYNC_TABLE) beside the ledger; drop records are sealed with CHUNK_SEALING_KEY
(whose bytes also key the fingerprint digests); the sync directory writes through the import's Graph lanes with
SYNC_WRITE_SHARE of the quota. The feed (SYNC_SOURCE, SYNC_FEED) comes from the registry; a changes.jsonl drop is
a blob the ExportStore opens, and apply re-reads its sealed records from the store.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from shared.bootstrap import AzureRuntime
from shared.sealing import Sealer
from shared.sync.feed import ChangeFeed
from shared.sync.ports import SyncPorts
from shared.sync.registry import FEEDS, FeedContext, feed_spec


@dataclass
class SyncRuntime:
    runtime: AzureRuntime
    sync: SyncPorts
    sealer: Sealer

    @asynccontextmanager
    async def feed(self) -> AsyncIterator[ChangeFeed]:
        """The configured feed; a drop blob is downloaded for the duration of the poll."""
        settings = self.runtime.settings
        if settings.SYNC_SOURCE in FEEDS:
            async with self.runtime.ports.exports.open_local(settings.SYNC_FEED) as path:
                yield feed_spec(self._context(str(path))).feed
            return
        yield feed_spec(self._context(settings.SYNC_FEED)).feed

    def _context(self, feed: str) -> FeedContext:
        settings = self.runtime.settings
        return FeedContext(source=settings.SYNC_SOURCE, feed=feed, store=self.sync.store, sealer=self.sealer,
                           settings=settings)  # fmt: skip
