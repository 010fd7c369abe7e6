"""The sync's Azure runtime: built once per worker, lazily, on top of the import's AzureRuntime.

The sync store is its own Table (SYNC_TABLE) beside the ledger; drop records are sealed with CHUNK_SEALING_KEY
(whose bytes also key the fingerprint digests); the sync directory writes through the import's Graph lanes with
SYNC_WRITE_SHARE of the quota. The feed (SYNC_SOURCE, SYNC_FEED) comes from the registry; a changes.jsonl drop is
a blob the ExportStore opens, and apply re-reads its sealed records from the store.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from shared.adapters.graph.directory import GraphDirectory
from shared.bootstrap import AzureRuntime, azure_runtime
from shared.sealing import Sealer
from shared.sync.directory import SyncDirectory
from shared.sync.drop import SealedRecords
from shared.sync.feed import ChangeFeed, LegacyState
from shared.sync.fingerprint import Digester
from shared.sync.local import mapping_for, share_budget
from shared.sync.policy import SyncPolicy
from shared.sync.ports import SyncPorts
from shared.sync.registry import FEEDS, FeedContext, feed_spec
from shared.sync.table_store import TableSyncStore


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


_sync_runtime: SyncRuntime | None = None
_lock = asyncio.Lock()


async def sync_runtime() -> SyncRuntime:
    global _sync_runtime
    async with _lock:
        if _sync_runtime is None:
            _sync_runtime = await _build(await azure_runtime())
        return _sync_runtime


def install_sync_runtime(runtime: SyncRuntime | None) -> None:
    """Seam for tests of the triggers."""
    global _sync_runtime
    _sync_runtime = runtime


async def _build(runtime: AzureRuntime) -> SyncRuntime:
    settings = runtime.settings
    connection = settings.STORAGE_CONNECTION_STRING.get_secret_value() if settings.STORAGE_CONNECTION_STRING else None
    if connection:
        store = TableSyncStore.from_connection_string(connection, settings.SYNC_TABLE)
    elif settings.TABLES_ACCOUNT_URL:
        store = TableSyncStore.from_account_url(settings.TABLES_ACCOUNT_URL, settings.SYNC_TABLE)
    else:
        raise ValueError("set STORAGE_CONNECTION_STRING or TABLES_ACCOUNT_URL for the sync store")
    if settings.CHUNK_SEALING_KEY is None:
        raise ValueError("set CHUNK_SEALING_KEY (base64, 32 bytes; a Key Vault reference in Azure)")
    key = settings.CHUNK_SEALING_KEY.get_secret_value()
    sealer = Sealer.from_base64(key)
    graph = runtime.ports.directory
    if not isinstance(graph, GraphDirectory):
        raise TypeError("the sync writes through the Graph directory")
    mapping = await mapping_for(settings.SYNC_SOURCE, runtime.ports.ledger, runtime.workflow, None)
    holder: dict[str, LegacyState] = {}
    context = FeedContext(source=settings.SYNC_SOURCE, feed=settings.SYNC_FEED, store=store, sealer=sealer,
                          settings=settings)  # fmt: skip

    def states(source: str) -> LegacyState:
        if source not in holder:
            # The drop's state is its sealed records (no file needed to apply); other feeds re-read live.
            holder[source] = SealedRecords(source, store, sealer) if source in FEEDS else feed_spec(context).state
        return holder[source]

    sync = SyncPorts(
        ports=runtime.ports, store=store, directory=SyncDirectory(graph, share_budget(settings, len(graph.lanes))),
        states=states, mapping=mapping, digester=Digester(base64.b64decode(key)),
        policy=SyncPolicy.from_settings(settings),
    )  # fmt: skip
    return SyncRuntime(runtime=runtime, sync=sync, sealer=sealer)
