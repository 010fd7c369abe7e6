"""One TenantGraph (v1.0 + beta clients over one credential) for a Graph URL, and Key Vault reads through the
same kind of credential. The emulator (a loopback URL) gets the emulator's credential, a real tenant
DefaultAzureCredential (az login, managed identity, or AZURE_CLIENT_ID/…)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
from azure.core.credentials_async import AsyncTokenCredential

from shared.adapters.graph.client import EmulatorCredential, is_loopback_url, make_graph_client
from shared.tenant.graph import TenantGraph

KEYVAULT_API_VERSION = "7.4"


def _credential(graph_url: str) -> AsyncTokenCredential:
    if is_loopback_url(graph_url):
        return EmulatorCredential()
    from azure.identity.aio import DefaultAzureCredential

    return DefaultAzureCredential()


async def _close_http(graph: TenantGraph) -> None:
    for client in (graph.v1, graph.beta):
        http = getattr(client.request_adapter, "_http_client", None)
        if isinstance(http, httpx.AsyncClient):
            await http.aclose()


@asynccontextmanager
async def open_tenant_graph(graph_url: str) -> AsyncIterator[tuple[TenantGraph, AsyncTokenCredential]]:
    credential = _credential(graph_url)
    graph = TenantGraph(
        make_graph_client(graph_url, credential=credential),
        make_graph_client(graph_url, credential=credential, version="beta"),
    )
    try:
        yield graph, credential
    finally:
        await _close_http(graph)
        await credential.close()


def keyvault_reader(credential: AsyncTokenCredential) -> Callable[[str], Awaitable[str]]:
    """`fetch(secret_url) -> value` for SecretResolver: Key Vault's REST GET secret (api-version 7.4)."""

    async def fetch(secret_url: str) -> str:
        token = await credential.get_token("https://vault.azure.net/.default")
        async with httpx.AsyncClient(timeout=15) as http:
            response = await http.get(
                secret_url,
                params={"api-version": KEYVAULT_API_VERSION},
                headers={"Authorization": f"Bearer {token.token}"},
            )
            response.raise_for_status()
            return str(response.json()["value"])

    return fetch
