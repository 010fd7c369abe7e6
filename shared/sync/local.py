"""Build the sync's parts for the local host: the sync store beside the ledger, the sealer, the digester, the
sync directory with its share of the write budget, and the mapping the bulk import used."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from shared.adapters.graph.budget import WriteBudget
from shared.adapters.graph.directory import GraphDirectory
from shared.adapters.graph.lanes import write_budget
from shared.adapters.graph.quota_lease import QuotaStore
from shared.bootstrap import LocalHostParts, key_file_sealer, local_parts
from shared.config import Settings
from shared.handlers.options import mapping_from_dict, resolve_options
from shared.handlers.workflow import Workflow
from shared.mapping import MappingOptions
from shared.ports import Ledger
from shared.sealing import Sealer
from shared.sync.directory import SyncDirectory
from shared.sync.feed import ChangeFeed, LegacyState
from shared.sync.fingerprint import Digester
from shared.sync.host import SyncHost
from shared.sync.policy import SyncPolicy
from shared.sync.ports import SyncPorts
from shared.sync.snapshot import SnapshotDiff
from shared.sync.sqlite_store import SYNC_DB, SqliteSyncStore


def share_budget(settings: Settings, apps: int, store: QuotaStore | None) -> WriteBudget:
    """The sync's own budget: SYNC_WRITE_SHARE of the write quota (of every app registration it writes with),
    one bucket shared by every sync process and instance drawing from `store` (none: this process's alone)."""
    quota = settings.WRITE_QUOTA
    limit = max(1, int(min(quota.per_app * apps, quota.per_tenant) * settings.SYNC_WRITE_SHARE))
    key = f"{settings.TENANT_ID or settings.TENANT}|sync".lower()
    return write_budget(settings, key, limit, quota.per_app_window_s, store)


async def mapping_for(source: str, ledger: Ledger, workflow: Workflow, mapping_ref: str | None) -> MappingOptions:
    """The mapping of this source's latest bulk import, so sync and import write users the same way."""
    runs = [
        r for r in await ledger.list_runs() if r.source == source and r.mapping and not r.run_id.startswith("sync-")
    ]
    if runs and mapping_ref is None:
        return mapping_from_dict(runs[-1].mapping)
    return resolve_options(source, mapping_ref, workflow)[1]


@dataclass
class LocalSyncParts:
    store: SqliteSyncStore
    sealer: Sealer
    digester: Digester
    directory: SyncDirectory
    policy: SyncPolicy

    def close(self) -> None:
        self.store.close()


def local_sync_parts(settings: Settings, parts: LocalHostParts) -> LocalSyncParts:
    graph = parts.ports.directory
    if not isinstance(graph, GraphDirectory):
        raise TypeError("the sync writes through the Graph directory")
    sealer, key = key_file_sealer(parts.state_dir)
    return LocalSyncParts(
        store=parts.sync_store or SqliteSyncStore(parts.state_dir / SYNC_DB),  # one connection: the import's baselines
        sealer=sealer,
        digester=Digester(key),
        directory=SyncDirectory(graph, share_budget(settings, len(graph.lanes), parts.quota)),
        policy=SyncPolicy.from_settings(settings),
    )


@dataclass
class LocalSync:
    """One open local sync: the import's parts, the sync's parts, the workflow and the mapping to write with."""

    settings: Settings
    source: str
    parts: LocalHostParts
    side: LocalSyncParts
    workflow: Workflow
    mapping: MappingOptions

    def ports(self, state: LegacyState) -> SyncPorts:
        side = self.side
        return SyncPorts(ports=self.parts.ports, store=side.store, directory=side.directory, states=lambda _: state,
                         mapping=self.mapping, digester=side.digester, policy=side.policy)  # fmt: skip

    def host(self, feed: ChangeFeed, state: LegacyState, *, snapshot: ChangeFeed | None = None,
             concurrency: int | None = None) -> SyncHost:  # fmt: skip
        # Applying is latency-bound (a legacy read, a Graph read, a PATCH): several users at once, each in order.
        workers = concurrency or self.settings.SYNC_CONCURRENCY
        return SyncHost(self.parts.queue, self.ports(state), self.workflow, self.source, feed, snapshot=snapshot,
                        concurrency=workers)  # fmt: skip

    def snapshot_diff(self, export: Path) -> SnapshotDiff:
        side = self.side
        return SnapshotDiff(export, self.source, side.store, side.sealer, side.digester, self.mapping,
                            self.parts.ledger, source=self.source)  # fmt: skip


@asynccontextmanager
async def open_local_sync(
    settings: Settings, source: str, *, mapping_ref: str | None = None
) -> AsyncIterator[LocalSync]:
    parts = local_parts(settings)
    try:
        side = local_sync_parts(settings, parts)
        try:
            workflow = Workflow.from_settings(settings, apps=max(1, len(settings.APP_IDS)))
            mapping = await mapping_for(source, parts.ledger, workflow, mapping_ref)
            yield LocalSync(settings, source, parts, side, workflow, mapping)
        finally:
            side.close()
    finally:
        await parts.close()
