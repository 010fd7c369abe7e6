"""Fidelity of 503s and of how requests count against the quotas (repository
microsoftgraph/microsoft-graph-docs-contrib): concepts/errors.md, concepts/throttling.md,
concepts/throttling-limits.md (identity and access service limits)."""

from __future__ import annotations

import httpx
import pytest

from emulator.throttling import Throttle
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


def throttle_at(clock: list[float], resource_units: int) -> Throttle:
    return Throttle(app_writes=100, app_write_window=150, tenant_writes=100, tenant_write_window=300,
                    resource_units=lambda: resource_units, resource_unit_window=10, reporting_requests=5,
                    reporting_window=10, clock=lambda: clock[0])  # fmt: skip


def test_throttled_requests_still_cost_resource_units() -> None:
    """concepts/throttling.md: "Microsoft Graph continues to log resource usage while a client is being
    throttled" and "Avoid immediate retries, because all requests accrue against your usage limits".
    An early retry is logged and pushes admission out; waiting the Retry-After last given is enough."""
    clock = [0.0]
    throttle = throttle_at(clock, resource_units=3)
    for stamp in (0.0, 1.0, 2.0):
        clock[0] = stamp
        assert throttle.admit("app", write=False, resource_units=1, reporting=False) is None
    clock[0] = 3.0
    first = throttle.admit("app", write=False, resource_units=1, reporting=False)
    assert first is not None and first.retry_after == pytest.approx(8.0)  # the 3.0 rejection is in the window
    clock[0] = 4.0  # an early retry, before Retry-After
    again = throttle.admit("app", write=False, resource_units=1, reporting=False)
    assert again is not None and 4.0 + again.retry_after == pytest.approx(12.0)  # was 11.0 before the retry
    clock[0] = 4.0 + again.retry_after
    assert throttle.admit("app", write=False, resource_units=1, reporting=False) is None
    assert throttle.counters["app"].resource_units == 6 and throttle.counters["app"].throttled == 2


@pytest.mark.emulator_config(quotas={"resource_units": 3})
async def test_throttled_requests_show_in_the_resource_unit_count(
    http: httpx.AsyncClient, control: httpx.AsyncClient
) -> None:
    """concepts/throttling.md: resource usage is logged while a client is throttled."""
    statuses = [(await http.get(f"/applications/{'0' * 8}-0000-0000-0000-{'0' * 12}")).status_code for _ in range(5)]
    assert statuses == [404, 404, 404, 429, 429]
    apps = (await control.get("/stats")).json()["apps"]
    assert apps[APP_A]["resourceUnits"] == 5 and apps[APP_A]["throttled"] == 2


@pytest.mark.emulator_config(quotas={"app_writes": 1})
async def test_throttled_writes_do_not_use_the_write_quota(http: httpx.AsyncClient, control: httpx.AsyncClient) -> None:
    """concepts/throttling-limits.md counts writes against the write quota; a 429 wrote nothing, so it
    costs resource units only (docs/emulator.md, "Documented choices")."""
    assert (await http.post("/users", json=customer("w0@example.com"))).status_code == 201
    for n in range(3):
        assert (await http.post("/users", json=customer(f"w{n + 1}@example.com"))).status_code == 429
    apps = (await control.get("/stats")).json()["apps"]
    assert apps[APP_A]["writes"] == 1 and apps[APP_A]["throttled"] == 3 and apps[APP_A]["resourceUnits"] == 4
