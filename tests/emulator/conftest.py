"""Fixtures: an emulator on 127.0.0.1 (free port) per test, the real msgraph-sdk pointed at it,
and a raw httpx client for what the SDK cannot express (faults, $batch body shape, control API).

`config` can be overridden per test with `@pytest.mark.emulator_config(time_scale=10, ...)`.
"""

from __future__ import annotations

import base64
import json
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.core.credentials import AccessToken
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from msgraph import GraphServiceClient
from msgraph.graph_request_adapter import GraphRequestAdapter

# `pytest` run from the repo root without `python -m`: make the packages importable.
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from emulator import EmulatorConfig, EmulatorServer, serve  # noqa: E402

TENANT = "contoso.onmicrosoft.com"
APP_A = "aaaaaaaa-0000-4000-8000-00000000000a"
APP_B = "bbbbbbbb-0000-4000-8000-00000000000b"
STRONG_PASSWORD = "Str0ng!Passw0rd"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "emulator_config(**kwargs): EmulatorConfig fields for this test")


def unsigned_jwt(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.sig"


class UnsignedCredential:
    """AsyncTokenCredential handing out an unsigned JWT that carries the caller's `appid`."""

    def __init__(self, app_id: str) -> None:
        self.app_id = app_id

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        expires = int(time.time()) + 3600
        return AccessToken(unsigned_jwt({"appid": self.app_id, "exp": expires, "tid": "t"}), expires)

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> UnsignedCredential:
        return self

    async def __aexit__(self, *args: object) -> None:
        return None


@pytest.fixture
async def emulator(request: pytest.FixtureRequest) -> AsyncIterator[EmulatorServer]:
    marker = request.node.get_closest_marker("emulator_config")
    overrides: dict[str, Any] = dict(marker.kwargs) if marker else {}
    # Graph may answer $batch items in any order (concepts/json-batching.md): tests see that by default.
    overrides.setdefault("shuffle_batch_responses", True)
    async with serve(EmulatorConfig(host="127.0.0.1", port=0, tenant=TENANT, **overrides)) as server:
        yield server


@pytest.fixture
async def graph_factory(emulator: EmulatorServer) -> AsyncIterator[Callable[[str], GraphServiceClient]]:
    """`graph_factory(app_id)`: a GraphServiceClient (no retry middleware) calling as that app."""
    clients: list[httpx.AsyncClient] = []

    def make(app_id: str = APP_A) -> GraphServiceClient:
        auth = AzureIdentityAuthenticationProvider(
            UnsignedCredential(app_id),
            scopes=["https://graph.microsoft.com/.default"],  # type: ignore[arg-type]
        )
        http = httpx.AsyncClient(timeout=10)
        clients.append(http)
        adapter = GraphRequestAdapter(auth, client=http)
        adapter.base_url = emulator.graph_url
        return GraphServiceClient(request_adapter=adapter)

    yield make
    for http in clients:
        await http.aclose()


@pytest.fixture
def graph(graph_factory: Callable[[str], GraphServiceClient]) -> GraphServiceClient:
    return graph_factory(APP_A)


@pytest.fixture
async def http(emulator: EmulatorServer) -> AsyncIterator[httpx.AsyncClient]:
    """Raw Graph calls as APP_A (base url ends in /v1.0)."""
    headers = {"Authorization": f"Bearer {unsigned_jwt({'appid': APP_A})}"}
    async with httpx.AsyncClient(base_url=emulator.graph_url, headers=headers, timeout=10) as client:
        yield client


@pytest.fixture
async def control(emulator: EmulatorServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"{emulator.base_url}/_emulator", timeout=10) as client:
        yield client


def customer(email: str, **extra: Any) -> dict[str, Any]:
    """The documented external-tenant customer payload (graph docs user-post-users.md)."""
    return {
        "displayName": email.split("@")[0],
        "mail": email,
        "identities": [{"signInType": "emailAddress", "issuer": TENANT, "issuerAssignedId": email}],
        "passwordProfile": {"password": STRONG_PASSWORD, "forceChangePasswordNextSignIn": False},
        "passwordPolicies": "DisablePasswordExpiration",
        **extra,
    }


@pytest.fixture
def create_user(http: httpx.AsyncClient) -> Callable[..., Awaitable[dict[str, Any]]]:
    async def create(email: str, **extra: Any) -> dict[str, Any]:
        response = await http.post("/users", json=customer(email, **extra))
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    return create
