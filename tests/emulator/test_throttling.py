"""Contract: quotas from graph docs throttling-limits.md — per-app and per-tenant write windows,
resource units, Retry-After that is exactly the time until the window admits the request."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from msgraph.generated.models.o_data_errors.o_data_error import ODataError

from tests.emulator.conftest import APP_A, APP_B, customer, unsigned_jwt
from tests.emulator.test_users import sdk_customer


def as_app(app_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {unsigned_jwt({'appid': app_id})}"}


@pytest.mark.emulator_config(quotas={"app_writes": 3})
async def test_fourth_write_of_an_app_gets_429_with_retry_after(graph: Any, control: httpx.AsyncClient) -> None:
    for n in range(3):
        await graph.users.post(sdk_customer(f"w{n}@example.com"))
    with pytest.raises(ODataError) as error:
        await graph.users.post(sdk_customer("w3@example.com"))
    assert error.value.response_status_code == 429
    assert error.value.error is not None and error.value.error.code == "TooManyRequests"
    headers = {k.lower(): v for k, v in (error.value.response_headers or {}).items()}
    retry_after = float(headers["retry-after"])
    assert 140 <= retry_after <= 150  # whole window left, rounded up to whole seconds at scale 1
    assert headers["retry-after"].isdigit()
    assert headers["x-ms-throttle-scope"].startswith(f"Tenant_Application/Write/{APP_A}/")
    stats = (await control.get("/stats")).json()
    assert stats["apps"][APP_A]["writes"] == 3
    assert stats["apps"][APP_A]["throttled"] == 1
    assert stats["quotas"]["appWrites"] == {"limit": 3, "windowSeconds": 150.0}


@pytest.mark.emulator_config(quotas={"app_writes": 100, "tenant_writes": 4})
async def test_tenant_window_is_shared_by_all_apps(http: httpx.AsyncClient) -> None:
    statuses = []
    for n, app in enumerate([APP_A, APP_B, APP_A, APP_B, APP_B]):
        response = await http.post("/users", json=customer(f"t{n}@example.com"), headers=as_app(app))
        statuses.append(response.status_code)
    assert statuses == [201, 201, 201, 201, 429]
    assert response.headers["x-ms-throttle-scope"].startswith(f"Tenant/Write/{APP_B}/")


@pytest.mark.emulator_config(quotas={"app_writes": 2})
async def test_apps_have_separate_write_windows(http: httpx.AsyncClient) -> None:
    for n in range(2):
        assert (await http.post("/users", json=customer(f"a{n}@example.com"))).status_code == 201
    assert (await http.post("/users", json=customer("a2@example.com"))).status_code == 429
    other = await http.post("/users", json=customer("b0@example.com"), headers=as_app(APP_B))
    assert other.status_code == 201


@pytest.mark.emulator_config(time_scale=10, quotas={"app_writes": 2})
async def test_time_scale_gives_fractional_retry_after(http: httpx.AsyncClient, control: httpx.AsyncClient) -> None:
    started = time.monotonic()
    for n in range(2):
        await http.post("/users", json=customer(f"f{n}@example.com"))
    response = await http.post("/users", json=customer("f2@example.com"))
    elapsed = time.monotonic() - started
    assert response.status_code == 429
    value = response.headers["Retry-After"]
    assert "." in value  # e.g. "14.987": 150 s / 10, minus what already elapsed
    assert 15.0 - elapsed - 0.05 <= float(value) <= 15.0  # this test's own clock bounds what elapsed
    quota = (await control.get("/stats")).json()["quotas"]["appWrites"]
    assert quota == {"limit": 2, "windowSeconds": 15.0}


@pytest.mark.emulator_config(time_scale=10, quotas={"app_writes": 1, "app_write_window_s": 40})
async def test_waiting_retry_after_is_enough_and_not_more(http: httpx.AsyncClient) -> None:
    started = time.monotonic()
    assert (await http.post("/users", json=customer("r0@example.com"))).status_code == 201
    first = await http.post("/users", json=customer("r1@example.com"))
    assert first.status_code == 429
    wait = float(first.headers["Retry-After"])
    assert 4.0 - (time.monotonic() - started) - 0.05 <= wait <= 4.0  # the 4 s window minus what elapsed
    await asyncio.sleep(wait / 2)
    early = await http.post("/users", json=customer("r1@example.com"))
    assert early.status_code == 429  # still inside the window
    assert float(early.headers["Retry-After"]) < wait  # counts down with the window, not from each request
    await asyncio.sleep(float(early.headers["Retry-After"]))
    assert (await http.post("/users", json=customer("r1@example.com"))).status_code == 201


@pytest.mark.emulator_config(quotas={"resource_units": 5})
async def test_resource_units_price_list_reads_double(http: httpx.AsyncClient, create_user: Any) -> None:
    user = await create_user("ru@example.com")  # 1 RU
    assert (await http.get("/users")).headers["x-ms-resource-unit"] == "2"  # 3 RU used
    assert (await http.get(f"/users/{user['id']}")).headers["x-ms-resource-unit"] == "1"  # 4
    assert (await http.get(f"/users/{user['id']}")).status_code == 200  # 5
    throttled = await http.get(f"/users/{user['id']}")
    assert throttled.status_code == 429
    assert throttled.headers["x-ms-throttle-information"] == "ResourceUnitLimitExceeded"


async def test_resource_unit_quota_follows_documented_tenant_size_tiers(control: httpx.AsyncClient) -> None:
    stats = (await control.get("/stats")).json()
    assert stats["quotas"]["resourceUnits"] == {"limit": 3500, "windowSeconds": 10.0}  # S: < 50 users
