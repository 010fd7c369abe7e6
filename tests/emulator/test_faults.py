"""Contract: seeded faults (docs/limits.md, docs/guarantees.md R2–R4): status faults, 504 after commit,
read-after-write lag, dropped connections, latency; switchable at run time."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from kiota_http.middleware.options import RetryHandlerOption
from msgraph import GraphServiceClient
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph_core import GraphClientFactory

from emulator import EmulatorConfig, FaultSpec, serve
from tests.emulator.conftest import APP_A, TENANT, UnsignedCredential, customer, unsigned_jwt
from tests.emulator.test_users import sdk_customer


def identity_filter(email: str) -> dict[str, str]:
    return {"$filter": f"identities/any(c:c/issuerAssignedId eq '{email}' and c/issuer eq '{TENANT}')"}


def test_fault_spec_parses_the_cli_syntax() -> None:
    spec = FaultSpec.parse("500=0.01,503=0.02,504=0.01,504-after-commit=0.01,lag=0.02,drop=0.001,latency-ms=5")
    assert (spec.error_503, spec.error_504_after_commit, spec.drop, spec.latency_ms) == (0.02, 0.01, 0.001, 5)
    with pytest.raises(ValueError):
        FaultSpec.parse("507=0.1")
    with pytest.raises(ValueError):
        FaultSpec.parse("503=2")


async def test_504_after_commit_leaves_the_user_created(http: httpx.AsyncClient, control: httpx.AsyncClient) -> None:
    await control.post("/faults", json={"504-after-commit": 1.0})
    response = await http.post("/users", json=customer("commit@example.com"))
    assert response.status_code == 504
    await control.post("/faults", json={})
    found = (await http.get("/users", params=identity_filter("commit@example.com"))).json()["value"]
    assert len(found) == 1
    again = await http.post("/users", json=customer("commit@example.com"))
    assert again.json()["error"]["details"][0]["code"] == "ObjectConflict"
    injected = (await control.get("/stats")).json()["faults"]["injected"]
    assert injected == {"504-after-commit": 1}


async def test_sdk_retry_after_504_commit_meets_object_conflict(emulator: Any, control: httpx.AsyncClient) -> None:
    """R3: the SDK's retry handler re-POSTs after the 504; the retry finds the committed user."""
    await control.post("/faults", json={"504-after-commit": 1.0})
    auth = AzureIdentityAuthenticationProvider(UnsignedCredential(APP_A))  # type: ignore[arg-type]
    http = GraphClientFactory.create_with_default_middleware(client=httpx.AsyncClient(timeout=10))
    adapter = GraphRequestAdapter(auth, client=http)
    adapter.base_url = emulator.graph_url
    graph = GraphServiceClient(request_adapter=adapter)
    config: RequestConfiguration[Any] = RequestConfiguration(options=[RetryHandlerOption(delay=0.05, max_retries=2)])
    try:
        with pytest.raises(ODataError) as error:
            await graph.users.post(sdk_customer("retry@example.com"), request_configuration=config)
    finally:
        await http.aclose()
    assert error.value.response_status_code == 400
    assert error.value.error is not None and error.value.error.details is not None
    assert error.value.error.details[0].code == "ObjectConflict"
    assert (await control.get("/stats")).json()["users"] == 1


@pytest.mark.parametrize(("fault", "code"), [("500", "generalException"), ("503", "serviceNotAvailable"),
                                              ("504", "gatewayTimeout")])  # fmt: skip
async def test_status_faults_do_not_commit(
    http: httpx.AsyncClient, control: httpx.AsyncClient, fault: str, code: str
) -> None:
    await control.post("/faults", json={fault: 1.0})
    response = await http.post("/users", json=customer("sf@example.com"))
    assert response.status_code == int(fault)
    assert response.json()["error"]["code"] == code
    await control.post("/faults", json={})
    assert (await http.get("/users")).json()["value"] == []


async def test_lag_hides_a_just_created_user(
    http: httpx.AsyncClient, control: httpx.AsyncClient, create_user: Any
) -> None:
    await control.post("/faults", json={"lag": 1.0, "lag-ms": 60_000})
    user = await create_user("lag@example.com")
    assert (await http.get(f"/users/{user['id']}")).status_code == 404
    await control.post("/faults", json={"lag": 1.0, "lag-ms": 50})
    time.sleep(0.1)
    assert (await http.get(f"/users/{user['id']}")).status_code == 200  # older than the lag window


async def test_drop_closes_the_connection_without_an_answer(
    http: httpx.AsyncClient, control: httpx.AsyncClient
) -> None:
    await control.post("/faults", json={"drop": 1.0})
    with pytest.raises(httpx.TransportError):
        await http.get("/users")
    await control.post("/faults", json={})
    assert (await http.get("/users")).status_code == 200


@pytest.mark.emulator_config(faults="latency-ms=120")
async def test_latency_is_added_to_every_answer(http: httpx.AsyncClient) -> None:
    started = time.perf_counter()
    await http.get("/users")
    assert time.perf_counter() - started >= 0.12


async def _status_sequence(seed: int) -> list[int]:
    config = EmulatorConfig(port=0, seed=seed, faults="500=0.2,503=0.2,504=0.1")
    async with serve(config) as server:
        headers = {"Authorization": f"Bearer {unsigned_jwt({'appid': APP_A})}"}
        async with httpx.AsyncClient(base_url=server.graph_url, headers=headers) as client:
            return [(await client.get("/users")).status_code for _ in range(40)]


async def test_same_seed_same_faults() -> None:
    first, second, other = await _status_sequence(7), await _status_sequence(7), await _status_sequence(8)
    assert first == second
    assert first != other
    assert {500, 503, 504, 200} <= set(first)
