"""Lanes: one Graph client, credential and write budget per app registration, built from Settings.

`build_directory(settings)` is what every host uses. Against a real tenant each `APP_IDS` entry gets its
own azure-identity credential (shared/credentials.py) for TENANT_ID (or TENANT). Against the emulator
(a loopback GRAPH_URL) a bare id gets an EmulatorCredential; an id with a credential gets the *real*
azure-identity class, whose token requests an authority placeholder sends to the emulator's token
endpoint (azure-identity accepts only https authorities, so the transport rewrites the placeholder).

`verify_lanes(directory)` asks each lane's credential for a token and refuses a configuration where two
lanes sign in as one app, or a lane signs in as another app than its own: Graph counts quota per app id
of the token, so such lanes would share one quota.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from azure.core.credentials_async import AsyncTokenCredential
from azure.core.pipeline.transport import AsyncHttpTransport

from shared.adapters.graph.budget import ThrottleBudget, WriteBudget
from shared.adapters.graph.client import EmulatorCredential, graph_scope, is_loopback_url, make_graph_client
from shared.adapters.graph.directory import AppLane, GraphDirectory
from shared.adapters.graph.quota_lease import QuotaStore, SharedBudget
from shared.adapters.graph.sharing import SyncAwareBudget
from shared.config import Settings, environment_secret
from shared.credentials import (
    AppRegistration,
    CredentialConfigError,
    build_credential,
    parse_apps,
    token_app_id,
)

REHEARSAL_AUTHORITY = "https://login.emulator.invalid"


class EmulatorAuthorityTransport(AsyncHttpTransport):  # type: ignore[type-arg]
    """azure-core transport: requests to REHEARSAL_AUTHORITY go to the emulator (http, loopback) instead."""

    def __init__(self, emulator_url: str) -> None:
        from azure.core.pipeline.transport import AioHttpTransport  # aiohttp only for a lane that has a credential

        self._target = urlsplit(emulator_url)
        self._inner = AioHttpTransport()

    async def send(self, request: Any, **kwargs: Any) -> Any:
        parts = urlsplit(request.url)
        if f"{parts.scheme}://{parts.netloc}" == REHEARSAL_AUTHORITY:
            request.url = urlunsplit((self._target.scheme, self._target.netloc, parts.path, parts.query, ""))
        return await self._inner.send(request, **kwargs)

    async def open(self) -> None:
        await self._inner.open()

    async def close(self) -> None:
        await self._inner.close()

    async def __aenter__(self) -> EmulatorAuthorityTransport:
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *args: Any) -> None:
        await self._inner.__aexit__(*args)


def write_budget(settings: Settings, key: str, limit: int, window_s: float, store: QuotaStore | None) -> WriteBudget:
    """A process-local ThrottleBudget, or (with a QuotaStore) a SharedBudget every process draws from."""
    quota = settings.WRITE_QUOTA
    window = window_s / quota.time_scale
    if store is None:
        return ThrottleBudget(limit, window, headroom=quota.headroom)
    return SharedBudget(
        store, key, limit, window, headroom=quota.headroom, lease_tokens=settings.QUOTA_LEASE_TOKENS,
        lease_s=settings.QUOTA_LEASE_S / quota.time_scale,
    )  # fmt: skip


def import_budget(
    settings: Settings, key: str, limit: int, window_s: float, store: QuotaStore | None, sharing: SyncSharing | None
) -> WriteBudget:
    """The whole quota as a pool; with `sharing`, capped at (1 − SYNC_WRITE_SHARE) while a sync is running."""
    pool = write_budget(settings, key, limit, window_s, store)
    if sharing is None:
        return pool
    cap = write_budget(settings, f"{key}|import", max(1, int(limit * (1.0 - settings.SYNC_WRITE_SHARE))), window_s,
                       store)  # fmt: skip
    return SyncAwareBudget(pool, cap, sharing.sync_running, on_change=sharing.on_change)


@dataclass
class SyncSharing:
    """How an import learns that a sync is running beside it (shared.sync.presence), and whom to tell."""

    sync_running: Callable[[], bool]
    on_change: Callable[[bool], None] | None = None


def _lane(
    settings: Settings, app: AppRegistration | None, store: QuotaStore | None, sharing: SyncSharing | None
) -> AppLane:
    quota = settings.WRITE_QUOTA
    graph_url = settings.GRAPH_URL
    tenant_id = settings.TENANT_ID or settings.TENANT
    if app is None:
        app = AppRegistration(client_id="default")
    key = f"{tenant_id}|app|{app.client_id}".lower()
    budget = import_budget(settings, key, quota.per_app, quota.per_app_window_s, store, sharing)
    credential: AsyncTokenCredential
    if is_loopback_url(graph_url) and app.kind == "ambient":
        credential = EmulatorCredential() if app.client_id == "default" else EmulatorCredential(app.client_id)
    elif is_loopback_url(graph_url):
        credential = build_credential(
            app, tenant_id=tenant_id, secret_lookup=environment_secret, authority=REHEARSAL_AUTHORITY,
            transport=EmulatorAuthorityTransport(graph_url),
        )  # fmt: skip
    else:
        credential = build_credential(app, tenant_id=tenant_id, secret_lookup=environment_secret)
    client = make_graph_client(graph_url, credential=credential)
    return AppLane(
        app_id=app.client_id, client=client, budget=budget, concurrency=settings.BATCH_CONCURRENCY,
        credential=credential, scope=graph_scope(graph_url),
    )  # fmt: skip


def build_directory(
    settings: Settings, quota_store: QuotaStore | None = None, sharing: SyncSharing | None = None
) -> GraphDirectory:
    """One lane per app registration in APP_IDS (or one default lane), paced under the write quota.

    With a `quota_store` the lanes' and the tenant's budgets are shared with every other process using it; with
    `sharing`, the import leaves SYNC_WRITE_SHARE of them to a sync while one runs (shared/adapters/graph/sharing)."""
    emulator = is_loopback_url(settings.GRAPH_URL)
    apps: list[AppRegistration | None] = list(parse_apps(settings.APP_IDS, emulator=emulator)) or [None]
    lanes = [_lane(settings, app, quota_store, sharing) for app in apps]
    quota = settings.WRITE_QUOTA
    tenant_key = f"{settings.TENANT_ID or settings.TENANT}|tenant".lower()
    tenant = import_budget(settings, tenant_key, quota.per_tenant, quota.per_tenant_window_s, quota_store, sharing)
    return GraphDirectory(lanes, tenant, inline_retry_budget_s=settings.INLINE_RETRY_BUDGET_S)


async def verify_lanes(directory: GraphDirectory) -> dict[str, str]:
    """{lane app id: the app id its token carries}; CredentialConfigError when lanes would share a quota."""
    signed_in: dict[str, str] = {}
    for lane in directory.lanes:
        if lane.credential is None:
            continue
        token = await lane.credential.get_token(lane.scope)
        actual = token_app_id(token.token) or "unknown"
        if lane.app_id != "default" and actual.lower() != lane.app_id.lower():
            raise CredentialConfigError(
                f"--app {lane.app_id}: its credential signs in as app {actual}, not as {lane.app_id}; "
                "use that app registration's own secret, certificate or federated credential"
            )
        other = next((name for name, got in signed_in.items() if got.lower() == actual.lower()), None)
        if other is not None:
            raise CredentialConfigError(
                f"--app {other} and --app {lane.app_id} both sign in as app {actual}: one identity is one Graph "
                "quota; give each lane its own app registration and credential"
            )
        signed_in[lane.app_id] = actual
    return signed_in
