"""Building a msgraph-sdk GraphServiceClient for a real tenant or for the tenant emulator.

A real tenant: one azure.identity.aio credential per app registration (shared/credentials.py). The
emulator: `EmulatorCredential(app_id)`, an unsigned token whose `appid` claim tells the emulator which
app registration's quota a request counts against.

One retry layer: the SDK's default middleware minus kiota's RetryHandler. That handler re-sends a POST
(a create, `$batch`, `extensionProperties`) on 429/503/504 with no identity lookup in between, under the
directory's own retries; GraphDirectory alone decides what is re-sent, and after an ambiguous failure it
looks the identity up first.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any
from urllib.parse import urlparse

import httpx
from azure.core.credentials import AccessToken
from azure.core.credentials_async import AsyncTokenCredential
from kiota_authentication_azure.azure_identity_authentication_provider import AzureIdentityAuthenticationProvider
from kiota_http.kiota_client_factory import KiotaClientFactory
from kiota_http.middleware import RetryHandler
from kiota_http.middleware.middleware import BaseMiddleware
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph.graph_service_client import GraphServiceClient
from msgraph_core import GraphClientFactory
from msgraph_core.middleware import GraphTelemetryHandler

DEFAULT_EMULATOR_APP_ID = "11111111-1111-4111-8111-111111111111"
# An emulator without client apps grants every permission; its tokens say so, as a consented app's would.
EMULATOR_ROLES = ("User.ReadWrite.All", "UserAuthenticationMethod.ReadWrite.All", "Application.ReadWrite.OwnedBy",
                  "AuditLog.Read.All")  # fmt: skip


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def emulator_token(
    app_id: str = DEFAULT_EMULATOR_APP_ID, tenant: str = "emulator", lifetime_s: int = 3600
) -> AccessToken:
    """An unsigned JWT carrying `appid`: all the emulator reads from a token."""
    expires = int(time.time()) + lifetime_s
    claims = {"appid": app_id, "azp": app_id, "tid": tenant, "exp": expires, "roles": list(EMULATOR_ROLES)}
    return AccessToken(f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.", expires)


class EmulatorCredential(AsyncTokenCredential):
    """Mints an unsigned token for the emulator; the emulator reads `appid` and ignores the signature."""

    def __init__(self, app_id: str = DEFAULT_EMULATOR_APP_ID, tenant: str = "emulator") -> None:
        self.app_id = app_id
        self._tenant = tenant

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return emulator_token(self.app_id, self._tenant)

    async def close(self) -> None:
        return None

    async def __aexit__(self, *args: object) -> None:
        return None


def is_loopback_url(url: str) -> bool:
    return (urlparse(url).hostname or "") in {"127.0.0.1", "localhost", "::1"}


def graph_scope(graph_url: str) -> str:
    """The token scope for Graph: Microsoft Graph's own for https, the emulator's URL otherwise."""
    return "https://graph.microsoft.com/.default" if urlparse(graph_url).scheme == "https" else f"{graph_url}/.default"


def graph_middleware() -> list[BaseMiddleware]:
    """The SDK's default middleware (redirects, headers, telemetry) without its RetryHandler."""
    middleware = [m for m in KiotaClientFactory.get_default_middleware(None) if not isinstance(m, RetryHandler)]
    middleware.append(GraphTelemetryHandler())
    return middleware


def make_graph_client(
    graph_url: str,
    app_id: str | None = None,
    credential: AsyncTokenCredential | None = None,
    timeout_s: float = 30.0,
    transport: httpx.AsyncBaseTransport | None = None,
    version: str = "v1.0",
) -> GraphServiceClient:
    """A GraphServiceClient whose base URL is `<graph_url>/<version>` (v1.0, or beta for the few endpoints
    Microsoft documents only there), with `graph_middleware()`.

    With no credential: an EmulatorCredential for a loopback URL, DefaultAzureCredential otherwise.
    `transport` is a seam for tests that watch the wire (under the middleware, above the socket).
    """
    parsed = urlparse(graph_url)
    host = parsed.hostname or ""
    if credential is None:
        if is_loopback_url(graph_url):
            credential = EmulatorCredential(app_id or DEFAULT_EMULATOR_APP_ID)
        else:
            from azure.identity.aio import DefaultAzureCredential

            credential = DefaultAzureCredential()
    auth = AzureIdentityAuthenticationProvider(credential, scopes=[graph_scope(graph_url)], allowed_hosts=[host])
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
    http = httpx.AsyncClient(timeout=httpx.Timeout(timeout_s, connect=10.0), limits=limits, transport=transport)
    http = GraphClientFactory.create_with_custom_middleware(graph_middleware(), client=http)
    adapter = GraphRequestAdapter(auth, client=http)
    adapter.base_url = f"{graph_url.rstrip('/')}/{version}"
    return GraphServiceClient(request_adapter=adapter)
