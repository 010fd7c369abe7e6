"""Bootstrap: build the ports from Settings — the local host's (SQLite + files) or, lazily and once, Azure's.

Nothing here runs at import time. The Graph directory is shared by both modes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shared.adapters.graph.budget import ThrottleBudget
from shared.adapters.graph.client import make_graph_client
from shared.adapters.graph.directory import AppLane, GraphDirectory
from shared.adapters.local.files import LocalArtifactStore, LocalChunkStore, LocalExportStore
from shared.adapters.local.ledger import SqliteLedger
from shared.adapters.local.queue import SqliteQueue
from shared.clock import SystemClock
from shared.config import Settings
from shared.ports import Ports, Telemetry
from shared.sealing import Sealer
from shared.telemetry import CountingTelemetry


def build_directory(settings: Settings) -> GraphDirectory:
    """One lane per app registration in APP_IDS (or one default lane), paced under the write quota."""
    quota = settings.WRITE_QUOTA
    scale = quota.time_scale
    app_ids: list[str | None] = list(settings.APP_IDS) or [None]
    lanes = [
        AppLane(
            app_id=app_id or "default",
            client=make_graph_client(settings.GRAPH_URL, app_id),
            budget=ThrottleBudget(quota.per_app, quota.per_app_window_s / scale, headroom=quota.headroom),
            concurrency=settings.BATCH_CONCURRENCY,
        )
        for app_id in app_ids
    ]
    tenant = ThrottleBudget(quota.per_tenant, quota.per_tenant_window_s / scale, headroom=quota.headroom)
    return GraphDirectory(lanes, tenant, inline_retry_budget_s=settings.INLINE_RETRY_BUDGET_S)


@dataclass
class LocalHostParts:
    ports: Ports
    queue: SqliteQueue
    ledger: SqliteLedger
    state_dir: Path

    async def close(self) -> None:
        await self.ports.directory.close()
        self.queue.close()
        self.ledger.close()


def local_parts(settings: Settings, telemetry: Telemetry | None = None) -> LocalHostParts:
    state = Path(settings.STATE_DIR)
    state.mkdir(parents=True, exist_ok=True)
    db = state / "migration.db"
    queue = SqliteQueue(db, max_delivery_count=settings.MAX_DELIVERY_COUNT)
    ledger = SqliteLedger(db)
    sealer = Sealer.from_key_file(state / "keys" / "chunk.key")
    ports = Ports(
        queue=queue,
        ledger=ledger,
        chunks=LocalChunkStore(state, sealer),
        exports=LocalExportStore(),
        artifacts=LocalArtifactStore(state),
        directory=build_directory(settings),
        clock=SystemClock(),
        telemetry=telemetry or CountingTelemetry(),
    )
    return LocalHostParts(ports=ports, queue=queue, ledger=ledger, state_dir=state)
