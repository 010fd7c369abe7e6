"""Bootstrap: build the ports from Settings — the local host's (SQLite + files) or, lazily and once, Azure's.

Nothing here runs at import time. The Graph directory is shared by both modes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from shared.adapters.graph.lanes import build_directory
from shared.adapters.graph.legacy_users import GraphLegacyUsers
from shared.adapters.local.files import LocalArtifactStore, LocalChunkStore, LocalExportStore
from shared.adapters.local.ledger import SqliteLedger
from shared.adapters.local.queue import SqliteQueue
from shared.adapters.local.quota import SqliteQuotaStore
from shared.clock import SystemClock
from shared.config import Settings
from shared.handlers.workflow import Workflow
from shared.ports import Ports, Telemetry
from shared.sealing import Sealer
from shared.telemetry import TallyTelemetry
from shared.vault import SqliteCredentialVault, open_local_vault


@dataclass
class LocalHostParts:
    ports: Ports
    queue: SqliteQueue
    ledger: SqliteLedger
    vault: SqliteCredentialVault
    state_dir: Path
    quota: SqliteQuotaStore | None = None

    async def close(self) -> None:
        await self.ports.directory.close()
        self.queue.close()
        self.ledger.close()
        self.vault.close()
        if self.quota is not None:
            self.quota.close()


def local_parts(settings: Settings, telemetry: Telemetry | None = None) -> LocalHostParts:
    state = Path(settings.STATE_DIR)
    state.mkdir(parents=True, exist_ok=True)
    db = state / "migration.db"
    queue = SqliteQueue(db, max_delivery_count=settings.MAX_DELIVERY_COUNT)
    ledger = SqliteLedger(db)
    sealer = Sealer.from_key_file(state / "keys" / "chunk.key")
    vault = open_local_vault(str(state))
    # Processes sharing this state directory share one write quota (SHARED_QUOTA=false: each paces alone).
    quota = SqliteQuotaStore(db) if settings.SHARED_QUOTA else None
    ports = Ports(
        queue=queue,
        ledger=ledger,
        chunks=LocalChunkStore(state, sealer),
        exports=LocalExportStore(),
        artifacts=LocalArtifactStore(state),
        directory=build_directory(settings, quota),
        clock=SystemClock(),
        telemetry=telemetry or TallyTelemetry(),
        vault=vault,
        legacy_users=GraphLegacyUsers(),
    )
    return LocalHostParts(ports=ports, queue=queue, ledger=ledger, vault=vault, state_dir=state, quota=quota)


@dataclass
class AzureRuntime:
    """What every Functions trigger needs, built once per worker process on first use."""

    settings: Settings
    ports: Ports
    workflow: Workflow


_azure_runtime: AzureRuntime | None = None
_azure_lock = asyncio.Lock()


async def azure_runtime() -> AzureRuntime:
    """Ports over Service Bus, Blob, Table Storage and Graph, from the app settings. Lazy, once."""
    global _azure_runtime
    async with _azure_lock:
        if _azure_runtime is None:
            _azure_runtime = await _build_azure_runtime(Settings())
        return _azure_runtime


def install_azure_runtime(runtime: AzureRuntime | None) -> None:
    """Seam for tests of the triggers: use these ports instead of building Azure's."""
    global _azure_runtime
    _azure_runtime = runtime


async def _build_azure_runtime(settings: Settings) -> AzureRuntime:
    from azure.data.tables.aio import TableClient
    from azure.identity.aio import DefaultAzureCredential

    from shared.adapters.blobs import (
        BlobArtifactStore,
        BlobChunkStore,
        BlobExportStore,
        container_client,
    )
    from shared.adapters.quota_table import TableQuotaStore
    from shared.adapters.servicebus import ServiceBusQueue
    from shared.adapters.tables import TableLedger
    from shared.telemetry import OpenTelemetryMetrics
    from shared.vault import open_azure_vault

    connection = settings.STORAGE_CONNECTION_STRING.get_secret_value() if settings.STORAGE_CONNECTION_STRING else None
    container = container_client(
        settings.BLOB_CONTAINER, connection_string=connection, account_url=settings.STORAGE_ACCOUNT_URL
    )
    if connection:
        ledger = TableLedger.from_connection_string(connection, settings.LEDGER_TABLE)
        quota = TableQuotaStore.from_connection_string(connection, settings.QUOTA_TABLE)
    elif settings.TABLES_ACCOUNT_URL:
        ledger = TableLedger.from_account_url(settings.TABLES_ACCOUNT_URL, settings.LEDGER_TABLE)
        quota = TableQuotaStore(
            TableClient(settings.TABLES_ACCOUNT_URL, settings.QUOTA_TABLE, credential=DefaultAzureCredential())
        )
    else:
        raise ValueError("set STORAGE_CONNECTION_STRING or TABLES_ACCOUNT_URL for the ledger")
    namespace = settings.ServiceBusConnection.fullyQualifiedNamespace
    if not namespace:
        raise ValueError("set ServiceBusConnection__fullyQualifiedNamespace")
    if settings.CHUNK_SEALING_KEY is None:
        raise ValueError("set CHUNK_SEALING_KEY (base64, 32 bytes; a Key Vault reference in Azure)")
    sealer = Sealer.from_base64(settings.CHUNK_SEALING_KEY.get_secret_value())
    ports = Ports(
        queue=ServiceBusQueue.from_namespace(namespace),
        ledger=ledger,
        chunks=BlobChunkStore(container, sealer),
        exports=BlobExportStore(container),
        artifacts=BlobArtifactStore(container),
        # Every instance draws from one write quota per app lane and per tenant (the QUOTA_TABLE buckets).
        directory=build_directory(settings, quota if settings.SHARED_QUOTA else None),
        clock=SystemClock(),
        telemetry=OpenTelemetryMetrics(),
        # Shared by every instance; None (no KEK configured) means imports vault no hashes for JIT.
        vault=open_azure_vault(settings),
        legacy_users=GraphLegacyUsers(),
    )
    return AzureRuntime(
        settings=settings, ports=ports, workflow=Workflow.from_settings(settings, len(settings.APP_IDS))
    )
