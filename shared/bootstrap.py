"""The composition root: every adapter built from Settings is built here, nowhere else.

The local host's ports (SQLite + files), the credential vaults, the JIT service and telemetry; under the
Functions host, Azure's ports, the JIT service and the sync's runtime, each built lazily and once per worker from
one cached `get_settings()`. `install(...)` is the one test seam. Nothing here runs at import time.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from shared.adapters.graph.lanes import SyncSharing, build_directory
from shared.adapters.graph.legacy_users import GraphLegacyUsers
from shared.adapters.graph.memberships import GraphMemberships
from shared.adapters.graph.quota_lease import QuotaStore
from shared.adapters.local.files import LocalArtifactStore, LocalChunkStore, LocalExportStore
from shared.adapters.local.ledger import SqliteLedger
from shared.adapters.local.queue import SqliteQueue
from shared.adapters.local.quota import SqliteQuotaStore
from shared.clock import SystemClock
from shared.config import Settings
from shared.handlers.workflow import Workflow
from shared.ports import Ports, Telemetry
from shared.sealing import Sealer
from shared.sync.baseline import ImportBaselines
from shared.sync.fingerprint import Digester
from shared.sync.presence import presence_probe
from shared.sync.sqlite_store import SYNC_DB, SqliteSyncStore
from shared.telemetry import TallyTelemetry
from shared.vault import KeyVaultKeyWrapper, KeyWrapper, LocalKeyWrapper, SqliteCredentialVault, TableCredentialVault

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from shared.adapters.tables import OneTable, TableLedger
    from shared.config import JitSettings
    from shared.jit.attempts import AttemptStore, TableAttempts
    from shared.jit.decision import JitVault, LegacyPasswordCheck, Verifier
    from shared.jit.lockout import Lockouts, TableLockouts
    from shared.jit.service import JitService
    from shared.monitoring.store import MonitorStore
    from shared.monitoring.table_store import TableMonitorStore
    from shared.sync.azure import SyncRuntime
    from shared.sync.table_store import TableSyncStore

    _Table = TypeVar("_Table", bound=OneTable)


def open_local_vault(state_dir: str) -> SqliteCredentialVault:
    """The offline vault the import stage and `jit serve` share: <state>/vault.db, KEK in <state>/keys/kek.key."""
    root = Path(state_dir)
    return SqliteCredentialVault(root / "vault.db", LocalKeyWrapper.from_key_file(root / "keys" / "kek.key"))


def key_file_sealer(state: Path) -> tuple[Sealer, bytes]:
    """The chunk sealing key (created on first use) as a Sealer, and its bytes for the fingerprint digester."""
    path = state / "keys" / "chunk.key"
    sealer = Sealer.from_key_file(path)
    return sealer, base64.b64decode(path.read_text(encoding="ascii").strip())


@dataclass
class LocalHostParts:
    ports: Ports
    queue: SqliteQueue
    ledger: SqliteLedger
    vault: SqliteCredentialVault
    state_dir: Path
    quota: SqliteQuotaStore | None = None
    sync_store: SqliteSyncStore | None = None  # <state>/sync.db: the import's baselines, the sync's fingerprints

    async def close(self) -> None:
        await self.ports.directory.close()
        self.queue.close()
        self.ledger.close()
        self.vault.close()
        if self.sync_store is not None:
            self.sync_store.close()
        if self.quota is not None:
            self.quota.close()


def local_parts(
    settings: Settings, telemetry: Telemetry | None = None, *, on_sync_change: Callable[[bool], None] | None = None
) -> LocalHostParts:
    """The local host's ports. Its imports leave SYNC_WRITE_SHARE of the quota to a sync running on the same state
    directory (shared.sync.presence); `on_sync_change(running)` hears when one starts or stops."""
    state = Path(settings.STATE_DIR)
    state.mkdir(parents=True, exist_ok=True)
    db = state / "migration.db"
    queue = SqliteQueue(db, max_delivery_count=settings.MAX_DELIVERY_COUNT)
    # Before export drops were Event Grid events, PlanExports went to export-drops: a run left there resumes.
    queue.move_type("PlanExport", settings.EXPORT_DROPS_QUEUE, settings.EXPORT_PLANS_QUEUE)
    ledger = SqliteLedger(db)
    sealer, key = key_file_sealer(state)
    vault = open_local_vault(str(state))
    sync_store = SqliteSyncStore(state / SYNC_DB)
    # Processes sharing this state directory share one write quota (SHARED_QUOTA=false: each paces alone).
    quota = SqliteQuotaStore(db) if settings.SHARED_QUOTA else None
    directory = build_directory(settings, quota, SyncSharing(presence_probe(settings), on_sync_change))
    ports = Ports(
        queue=queue,
        ledger=ledger,
        chunks=LocalChunkStore(state, sealer),
        exports=LocalExportStore(),
        artifacts=LocalArtifactStore(state),
        directory=directory,
        clock=SystemClock(),
        telemetry=telemetry or TallyTelemetry(),
        vault=vault,
        legacy_users=GraphLegacyUsers(),
        memberships=GraphMemberships(directory),  # the same lanes and budgets as the creates
        baselines=ImportBaselines(sync_store, Digester(key)),
    )
    return LocalHostParts(ports=ports, queue=queue, ledger=ledger, vault=vault, state_dir=state, quota=quota,
                          sync_store=sync_store)  # fmt: skip


@dataclass
class AzureRuntime:
    """What every Functions trigger needs, built once per worker process on first use."""

    settings: Settings
    ports: Ports
    workflow: Workflow
    quota: QuotaStore | None = None  # the shared write-quota buckets (QUOTA_TABLE); the sync's share draws here too
    sync_store: TableSyncStore | None = None  # SYNC_TABLE: the import's baselines there, the sync runtime reads it


@dataclass
class _Worker:
    """What this worker process has built from its settings so far (each at most once)."""

    settings: Settings | None = None
    azure: AzureRuntime | None = None
    jit: JitService | None = None
    sync: SyncRuntime | None = None
    monitor: MonitorStore | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


_worker = _Worker()


def get_settings() -> Settings:
    """The app settings of this worker, read from the environment once."""
    if _worker.settings is None:
        _worker.settings = Settings()
    return _worker.settings


def install(
    *,
    settings: Settings | None = None,
    azure: AzureRuntime | None = None,
    jit: JitService | None = None,
    sync: SyncRuntime | None = None,
    monitor: MonitorStore | None = None,
) -> None:
    """The one test seam: use these instead of building them from the app settings. Whatever is not given is
    forgotten and built again on first use, so `install()` alone resets the worker."""
    global _worker
    _worker = _Worker(
        settings=settings or (azure.settings if azure else None), azure=azure, jit=jit, sync=sync, monitor=monitor
    )


async def azure_runtime() -> AzureRuntime:
    """Ports over Service Bus, Blob, Table Storage and Graph, from the app settings. Lazy, once."""
    async with _worker.lock:
        if _worker.azure is None:
            _worker.azure = await _build_azure_runtime(get_settings())
        return _worker.azure


async def jit_service() -> JitService:
    """The password-submit endpoint's service, from the JIT__* app settings and STATE_DIR. Lazy, once."""
    async with _worker.lock:
        if _worker.jit is None:
            settings = get_settings()
            vault = shared_vault(settings)
            from shared.telemetry import OpenTelemetryMetrics

            # Azure: counters in the Table every instance shares, telemetry through OpenTelemetry (App Insights).
            service = await open_jit_service(
                settings.JIT,
                state_dir=Path(settings.STATE_DIR),
                telemetry=OpenTelemetryMetrics(),
                vault=vault,
                lockouts=shared_lockouts(settings),
                attempts=shared_attempts(settings),
            )
            await service.warm()
            _worker.jit = service
        return _worker.jit


async def sync_runtime() -> SyncRuntime:
    """The sync's runtime (sync store, sealer, feed, sync directory) on top of the import's. Lazy, once."""
    runtime = await azure_runtime()
    async with _worker.lock:
        if _worker.sync is None:
            _worker.sync = await _build_sync_runtime(runtime)
        return _worker.sync


async def monitor_store() -> MonitorStore:
    """The monitor store every instance shares (Table MONITOR_TABLE): ingest_signins' cursors and counted
    sign-ins, metric points, alerts notified. Lazy, once per worker."""
    async with _worker.lock:
        if _worker.monitor is None:
            _worker.monitor = open_monitor_store(get_settings())
        return _worker.monitor


def shared_table(settings: Settings, kind: type[_Table], table: str) -> _Table | None:
    """A OneTable store every instance shares, over STORAGE_CONNECTION_STRING (Azurite, keys) or TABLES_ACCOUNT_URL
    (the managed identity); None when neither is set."""
    connection = settings.STORAGE_CONNECTION_STRING.get_secret_value() if settings.STORAGE_CONNECTION_STRING else None
    if connection:
        return kind.from_connection_string(connection, table)
    if settings.TABLES_ACCOUNT_URL:
        from azure.identity.aio import DefaultAzureCredential

        return kind.from_account_url(settings.TABLES_ACCOUNT_URL, table, DefaultAzureCredential())
    return None


def shared_lockouts(settings: Settings) -> TableLockouts | None:
    """With Azure storage configured, the JIT lockout counters every instance shares (Table JIT.LOCKOUT_TABLE);
    None otherwise (the endpoint's own jit.db)."""
    from shared.jit import lockout

    return shared_table(settings, lockout.TableLockouts, settings.JIT.LOCKOUT_TABLE)


def shared_attempts(settings: Settings) -> TableAttempts | None:
    """With Azure storage configured, the Entra-retry dedupe and outcome log every instance shares (Table
    JIT.ATTEMPTS_TABLE): a retry landing on another instance replays the first decision. None otherwise (jit.db)."""
    from shared.jit import attempts

    return shared_table(settings, attempts.TableAttempts, settings.JIT.ATTEMPTS_TABLE)


def open_monitor_store(settings: Settings) -> TableMonitorStore:
    from shared.monitoring import table_store

    if store := shared_table(settings, table_store.TableMonitorStore, settings.MONITOR_TABLE):
        return store
    raise ValueError("set STORAGE_CONNECTION_STRING or TABLES_ACCOUNT_URL for the monitor store")


def configure_telemetry(settings: Settings | None = None, *, configure: Callable[..., None] | None = None) -> bool:
    """Azure Monitor, switched on only where APPLICATIONINSIGHTS_CONNECTION_STRING is set (tests and local runs
    never set it, so they emit nothing). With APPLICATIONINSIGHTS_AUTHENTICATION_STRING `Authorization=AAD` (Bicep
    sets it: the component's local auth is off, so unauthenticated telemetry is refused) the exporter gets the
    managed identity as `credential=` (`ClientId=<id>;Authorization=AAD`: that user-assigned identity).
    `configure` is the seam for `configure_azure_monitor`. Nothing here adds message bodies or secrets to logs."""
    settings = settings or get_settings()
    if not settings.APPLICATIONINSIGHTS_CONNECTION_STRING:
        return False
    if configure is None:
        from azure.monitor.opentelemetry import configure_azure_monitor

        configure = configure_azure_monitor
    options: dict[str, object] = {
        "connection_string": settings.APPLICATIONINSIGHTS_CONNECTION_STRING.get_secret_value()
    }
    credential = telemetry_credential(settings.APPLICATIONINSIGHTS_AUTHENTICATION_STRING)
    if credential is not None:
        options["credential"] = credential
    configure(**options)
    return True


def telemetry_credential(authentication: str | None) -> TokenCredential | None:
    """The exporter's credential for an APPLICATIONINSIGHTS_AUTHENTICATION_STRING, None unless it says AAD."""
    fields = {k.strip().lower(): v.strip() for k, _, v in (p.partition("=") for p in (authentication or "").split(";"))}
    if fields.get("authorization", "").upper() != "AAD":
        return None
    from azure.identity import ManagedIdentityCredential

    client_id = fields.get("clientid")
    return ManagedIdentityCredential(client_id=client_id) if client_id else ManagedIdentityCredential()


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
    from shared.telemetry import OpenTelemetryMetrics

    connection = settings.STORAGE_CONNECTION_STRING.get_secret_value() if settings.STORAGE_CONNECTION_STRING else None
    container = container_client(
        settings.BLOB_CONTAINER, connection_string=connection, account_url=settings.STORAGE_ACCOUNT_URL
    )
    ledger = table_ledger(settings)
    if ledger is None:
        raise ValueError("set STORAGE_CONNECTION_STRING or TABLES_ACCOUNT_URL for the ledger")
    if connection:
        quota = TableQuotaStore.from_connection_string(connection, settings.QUOTA_TABLE)
    else:
        quota = TableQuotaStore(
            TableClient(str(settings.TABLES_ACCOUNT_URL), settings.QUOTA_TABLE, credential=DefaultAzureCredential())
        )
    namespace = settings.ServiceBusConnection.fullyQualifiedNamespace
    if not namespace:
        raise ValueError("set ServiceBusConnection__fullyQualifiedNamespace")
    if settings.CHUNK_SEALING_KEY is None:
        raise ValueError("set CHUNK_SEALING_KEY (base64, 32 bytes; a Key Vault reference in Azure)")
    key = settings.CHUNK_SEALING_KEY.get_secret_value()
    sealer = Sealer.from_base64(key)
    directory = build_directory(
        settings, quota if settings.SHARED_QUOTA else None, SyncSharing(presence_probe(settings, azure=True))
    )
    sync_store = sync_table_store(settings)
    ports = Ports(
        queue=ServiceBusQueue.from_namespace(namespace),
        ledger=ledger,
        chunks=BlobChunkStore(container, sealer),
        exports=BlobExportStore(container),
        artifacts=BlobArtifactStore(container),
        # Every instance draws from one write quota per app lane and per tenant (the QUOTA_TABLE buckets).
        directory=directory,
        clock=SystemClock(),
        telemetry=OpenTelemetryMetrics(),
        # Shared by every instance; None (no KEK configured) means imports vault no hashes for JIT.
        vault=open_azure_vault(settings),
        legacy_users=GraphLegacyUsers(),
        memberships=GraphMemberships(directory),
        # The sync's baseline of every created user, in the SYNC_TABLE the sync reads (shared.sync.baseline).
        baselines=ImportBaselines(sync_store, Digester(base64.b64decode(key))),
    )
    return AzureRuntime(
        settings=settings, ports=ports, workflow=Workflow.from_settings(settings, len(settings.APP_IDS)),
        quota=quota if settings.SHARED_QUOTA else None, sync_store=sync_store,
    )  # fmt: skip


def sync_table_store(settings: Settings) -> TableSyncStore:
    """The sync store (fingerprints, cursors, conflicts) every instance shares: Table SYNC_TABLE."""
    from shared.sync.table_store import TableSyncStore

    connection = settings.STORAGE_CONNECTION_STRING.get_secret_value() if settings.STORAGE_CONNECTION_STRING else None
    if connection:
        return TableSyncStore.from_connection_string(connection, settings.SYNC_TABLE)
    if settings.TABLES_ACCOUNT_URL:
        return TableSyncStore.from_account_url(settings.TABLES_ACCOUNT_URL, settings.SYNC_TABLE)
    raise ValueError("set STORAGE_CONNECTION_STRING or TABLES_ACCOUNT_URL for the sync store")


async def _build_sync_runtime(runtime: AzureRuntime) -> SyncRuntime:
    # Imported here: shared.sync's local host is built on this module's local_parts.
    from shared.adapters.graph.directory import GraphDirectory
    from shared.sync.azure import SyncRuntime
    from shared.sync.directory import SyncDirectory
    from shared.sync.drop import SealedRecords
    from shared.sync.feed import LegacyState
    from shared.sync.local import mapping_for, share_budget
    from shared.sync.policy import SyncPolicy
    from shared.sync.ports import SyncPorts
    from shared.sync.registry import FEEDS, FeedContext, feed_spec

    settings = runtime.settings
    store = runtime.sync_store or sync_table_store(settings)  # the store the import's baselines went to
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

    share = share_budget(settings, len(graph.lanes), runtime.quota)
    sync = SyncPorts(
        ports=runtime.ports, store=store, directory=SyncDirectory(graph, share),
        states=states, mapping=mapping, digester=Digester(base64.b64decode(key)),
        policy=SyncPolicy.from_settings(settings),
    )  # fmt: skip
    return SyncRuntime(runtime=runtime, sync=sync, sealer=sealer)


def table_ledger(settings: Settings) -> TableLedger | None:
    """The ledger in Table Storage (LEDGER_TABLE) over STORAGE_CONNECTION_STRING (Azurite, keys) or TABLES_ACCOUNT_URL
    (managed identity); None with neither (an empty app setting counts as unset)."""
    from shared.adapters.tables import TableLedger

    connection = settings.STORAGE_CONNECTION_STRING.get_secret_value() if settings.STORAGE_CONNECTION_STRING else None
    if connection:
        return TableLedger.from_connection_string(connection, settings.LEDGER_TABLE)
    if settings.TABLES_ACCOUNT_URL:
        return TableLedger.from_account_url(settings.TABLES_ACCOUNT_URL, settings.LEDGER_TABLE)
    return None


def azure_vault_wrapper(settings: Settings) -> KeyWrapper | None:
    """The Azure vault's KEK: KEY_VAULT_KEY_ID (rows under older versions of that key still open), else VAULT_KEK
    with the keys it replaced in VAULT_KEK_RETIRED (a JSON list of base64 keys); None with neither."""
    if settings.KEY_VAULT_KEY_ID:
        from azure.identity.aio import DefaultAzureCredential

        return KeyVaultKeyWrapper.from_key_id(settings.KEY_VAULT_KEY_ID, DefaultAzureCredential())
    if settings.VAULT_KEK:  # an empty app setting counts as unset
        retired = [base64.b64decode(k.get_secret_value(), validate=True) for k in settings.VAULT_KEK_RETIRED]
        return LocalKeyWrapper(base64.b64decode(settings.VAULT_KEK.get_secret_value(), validate=True), retired)
    return None


def open_azure_vault(settings: Settings) -> TableCredentialVault | None:
    """The shared vault for Azure from the app settings, or None when no KEK is configured (JIT disabled).

    Storage: STORAGE_CONNECTION_STRING (Azurite, keys) or TABLES_ACCOUNT_URL (managed identity), table
    VAULT_TABLE. KEK: KEY_VAULT_KEY_ID (an RSA key in Key Vault: wrapKey/unwrapKey; use the versioned id) or,
    without Key Vault, VAULT_KEK (base64 32 bytes, a Key Vault secret reference in Azure)."""
    wrapper = azure_vault_wrapper(settings)
    if wrapper is None:
        return None
    connection = settings.STORAGE_CONNECTION_STRING.get_secret_value() if settings.STORAGE_CONNECTION_STRING else None
    if connection:
        return TableCredentialVault.from_connection_string(connection, settings.VAULT_TABLE, wrapper)
    if settings.TABLES_ACCOUNT_URL:
        return TableCredentialVault.from_account_url(settings.TABLES_ACCOUNT_URL, settings.VAULT_TABLE, wrapper)
    raise ValueError("set STORAGE_CONNECTION_STRING or TABLES_ACCOUNT_URL for the credential vault")


def azure_vault_from_environment() -> TableCredentialVault | None:
    """`open_azure_vault` over the app settings in this process's environment, read now (`vault … --azure`)."""
    return open_azure_vault(Settings())


def shared_vault(settings: Settings) -> TableCredentialVault | None:
    """With Azure storage configured, the Table vault the import stage writes (every instance sees the same
    hashes); without it (a local host), None: open_jit_service then uses <STATE_DIR>/vault.db."""
    if not (settings.STORAGE_CONNECTION_STRING or settings.TABLES_ACCOUNT_URL):
        return None
    vault = open_azure_vault(settings)
    if vault is None:
        raise ValueError("set KEY_VAULT_KEY_ID (or VAULT_KEK) so the password-submit endpoint can open the vault")
    return vault


def _decryption_key_material(settings: JitSettings) -> bytes:
    if settings.DECRYPTION_KEY is not None:
        return settings.DECRYPTION_KEY.get_secret_value().encode("ascii")
    if settings.DECRYPTION_KEY_FILE:
        return Path(settings.DECRYPTION_KEY_FILE).read_bytes()
    raise ValueError("set JIT.DECRYPTION_KEY (PEM or base64 PKCS#12) or JIT.DECRYPTION_KEY_FILE")


def _attempt_key(settings: JitSettings, state_dir: Path) -> bytes:
    if settings.ATTEMPT_KEY is not None:
        return base64.b64decode(settings.ATTEMPT_KEY.get_secret_value())
    path = state_dir / "keys" / "jit-attempt.key"
    Sealer.from_key_file(path)  # creates a random 32-byte key file (0600) on first use
    return base64.b64decode(path.read_text(encoding="ascii").strip())


async def open_jit_service(
    settings: JitSettings,
    *,
    state_dir: Path,
    telemetry: Telemetry,
    vault: JitVault | None = None,
    live_check: LegacyPasswordCheck | None = None,
    verifier: Verifier | None = None,
    lockouts: Lockouts | None = None,
    attempts: AttemptStore | None = None,
) -> JitService:
    """A JitService from JitSettings and a state directory. Local layout under <state>:

    vault.db               sealed legacy hashes (SqliteCredentialVault), written by the import stage
    keys/kek.key           the vault's key-encryption key (LocalKeyWrapper), created 0600 on first use
    keys/jit-attempt.key   keys the Entra-retry fingerprint, unless JIT.ATTEMPT_KEY is set
    jit.db                 lockout counters, retry dedupe, outcomes: only when `lockouts` or `attempts` is not
                           given (Azure gives both: the Tables JIT.LOCKOUT_TABLE and JIT.ATTEMPTS_TABLE)

    The OIDC metadata is fetched lazily (and cached) by the first request or `warm`."""
    from shared.jit.attempts import SqliteAttempts
    from shared.jit.decision import PasswordDecider
    from shared.jit.password_context import PasswordContextDecryptor, load_decryption_key
    from shared.jit.service import JitService
    from shared.jit.state import JitStateStore
    from shared.jit.tokens import OidcKeys, TokenValidator
    from shared.passwords import verify

    if not settings.AUTHORITY:
        raise ValueError("set JIT.AUTHORITY, e.g. https://<domain>.ciamlogin.com/<tenantId>/v2.0")
    keys = OidcKeys(
        settings.AUTHORITY,
        tenant_id=settings.TENANT_ID,
        ttl_s=settings.JWKS_CACHE_TTL_S,
        refresh_min_interval_s=settings.JWKS_REFRESH_MIN_INTERVAL_S,
        timeout_s=settings.METADATA_TIMEOUT_S,
    )
    state = JitStateStore(state_dir / "jit.db") if lockouts is None or attempts is None else None
    log = attempts or SqliteAttempts(state)  # type: ignore[arg-type]
    decider = PasswordDecider(
        settings,
        vault or open_local_vault(str(state_dir)),
        state,
        telemetry,
        attempt_key=_attempt_key(settings, state_dir),
        verifier=verifier or verify,
        live_check=live_check,
        lockouts=lockouts,
        attempts=log,
    )
    await decider.warm()
    decryptor = PasswordContextDecryptor(load_decryption_key(_decryption_key_material(settings)), settings)
    # jit.db kept only for the counters (attempts shared) is closed with the service too.
    extra = state.close if state is not None and attempts is not None else None
    return JitService(
        settings, TokenValidator(settings, keys), decryptor, decider, log, telemetry, keys=keys, also_close=extra
    )
