"""Fidelity of 503s and of how requests count against the quotas (repository
microsoftgraph/microsoft-graph-docs-contrib): concepts/errors.md, concepts/throttling.md,
concepts/throttling-limits.md (identity and access service limits)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.emulator.conftest import APP_A, customer
from tests.emulator.test_fidelity_batch import create


@pytest.mark.parametrize("fault", ["503", "batch-503"])
async def test_a_503_always_carries_retry_after(
    http: httpx.AsyncClient, control: httpx.AsyncClient, fault: str
) -> None:
    """concepts/errors.md (503): "You may repeat the request after a delay, the length of which may be
    specified in a Retry-After header" — the emulator always specifies it (docs/emulator.md)."""
    await control.post("/faults", json={fault: 1.0})
    if fault == "503":
        response = await http.post("/users", json=customer("u@example.com"))
    else:
        response = await http.post("/$batch", json={"requests": [create("1", "b@example.com")]})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "serviceNotAvailable"
    assert response.headers["Retry-After"] == "1"  # whole seconds at time scale 1


async def test_a_503_item_inside_a_batch_carries_retry_after(
    http: httpx.AsyncClient, control: httpx.AsyncClient
) -> None:
    """concepts/errors.md (503), concepts/json-batching.md (each item has its own status and headers)."""
    await control.post("/faults", json={"503": 1.0})
    response = await http.post("/$batch", json={"requests": [create("1", "i@example.com")]})
    item = response.json()["responses"][0]
    assert item["status"] == 503
    assert item["headers"]["Retry-After"] == "1"


@pytest.mark.emulator_config(quotas={"app_writes": 2})
async def test_writes_refused_for_validation_count_against_the_write_quota(
    http: httpx.AsyncClient, control: httpx.AsyncClient
) -> None:
    """concepts/throttling.md: "all requests accrue against your usage limits" — a POST that Graph
    evaluates and refuses (400) still used a write of the app's quota (throttling-limits.md, write quota)."""
    invalid = customer("bad@example.com")
    invalid["givenName"] = "x" * 65  # resources/user.md: givenName "Maximum length is 64 characters"
    assert (await http.post("/users", json=invalid)).status_code == 400
    assert (await http.post("/users", json=customer("dup@example.com"))).status_code == 201
    third = await http.post("/users", json=customer("third@example.com"))
    assert third.status_code == 429
    assert third.headers["x-ms-throttle-information"] == "WriteLimitExceeded"
    apps = (await control.get("/stats")).json()["apps"]
    assert apps[APP_A]["writes"] == 2 and apps[APP_A]["throttled"] == 1


@pytest.mark.emulator_config(time_scale=10, quotas={"resource_units": 3, "resource_unit_window_s": 4})
async def test_throttled_requests_still_cost_resource_units(
    http: httpx.AsyncClient, control: httpx.AsyncClient
) -> None:
    """concepts/throttling.md: "Microsoft Graph continues to log resource usage while a client is being
    throttled" and "Avoid immediate retries, because all requests accrue against your usage limits".
    A throttled GET costs its resource unit, so retrying early pushes admission further out, while
    waiting the Retry-After it was given is enough."""
    for _ in range(3):
        assert (await http.get("/applications/00000000-0000-0000-0000-000000000000")).status_code == 404  # 1 RU
    first = await http.get("/applications/00000000-0000-0000-0000-000000000000")
    assert first.status_code == 429
    first_wait = float(first.headers["Retry-After"])
    again = await http.get("/applications/00000000-0000-0000-0000-000000000000")  # an immediate retry
    assert again.status_code == 429
    assert float(again.headers["Retry-After"]) > first_wait  # the retry itself was logged
    apps = (await control.get("/stats")).json()["apps"]
    assert apps[APP_A]["resourceUnits"] == 5  # 3 admitted + 2 throttled
    await asyncio.sleep(float(again.headers["Retry-After"]))
    assert (await http.get("/applications/00000000-0000-0000-0000-000000000000")).status_code == 404


@pytest.mark.emulator_config(quotas={"app_writes": 1})
async def test_throttled_writes_do_not_use_the_write_quota(http: httpx.AsyncClient, control: httpx.AsyncClient) -> None:
    """concepts/throttling-limits.md counts writes against the write quota; a 429 wrote nothing, so it
    costs resource units only (docs/emulator.md, "Documented choices")."""
    assert (await http.post("/users", json=customer("w0@example.com"))).status_code == 201
    for n in range(3):
        assert (await http.post("/users", json=customer(f"w{n + 1}@example.com"))).status_code == 429
    apps = (await control.get("/stats")).json()["apps"]
    assert apps[APP_A]["writes"] == 1 and apps[APP_A]["throttled"] == 3 and apps[APP_A]["resourceUnits"] == 4
