"""Contract: POST /$batch (graph docs concepts/json-batching.md): ≤ 20 items, per-item status,
headers and body, dependsOn → 424, each item throttled on its own (429 inside a 200)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from msgraph import GraphServiceClient

from tests.emulator.conftest import TENANT, customer
from tests.emulator.test_users import sdk_customer


def post_item(item_id: str, email: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": item_id,
        "method": "POST",
        "url": "/users",
        "headers": {"Content-Type": "application/json"},
        "body": customer(email),
        **extra,
    }


async def test_sdk_batch_creates_users(graph: GraphServiceClient) -> None:
    # msgraph-core's batch module imports `deprecated`, which msgraph-sdk 1.65 does not install.
    from msgraph_core.requests.batch_request_content import BatchRequestContent
    from msgraph_core.requests.batch_request_item import BatchRequestItem

    batch = BatchRequestContent()
    for n in range(3):
        info = graph.users.to_post_request_information(sdk_customer(f"sdkb{n}@example.com"))
        batch.add_request(str(n + 1), BatchRequestItem(request_information=info, id=str(n + 1)))
    result = await graph.batch.post(batch_request_content=batch)
    assert result is not None
    assert result.get_response_status_codes() == {"1": 201, "2": 201, "3": 201}
    page = await graph.users.get()
    assert page is not None and len(page.value or []) == 3


@pytest.mark.emulator_config(quotas={"app_writes": 2})
async def test_each_item_counts_against_the_quota(http: httpx.AsyncClient) -> None:
    items = [post_item(str(n), f"q{n}@example.com") for n in range(4)]
    response = await http.post("/$batch", json={"requests": items})
    assert response.status_code == 200
    by_id = {r["id"]: r for r in response.json()["responses"]}
    assert [by_id[str(n)]["status"] for n in range(4)] == [201, 201, 429, 429]
    assert float(by_id["2"]["headers"]["Retry-After"]) > 0
    assert by_id["2"]["body"]["error"]["code"] == "TooManyRequests"
    assert by_id["0"]["body"]["mail"] == "q0@example.com"


async def test_mixed_outcomes_and_depends_on(http: httpx.AsyncClient) -> None:
    existing = await http.post("/users", json=customer("exists@example.com"))
    assert existing.status_code == 201
    items = [
        post_item("new", "new@example.com"),
        post_item("dup", "exists@example.com"),
        {"id": "after-dup", "method": "GET", "url": "users?$top=1", "dependsOn": ["dup"]},
        {"id": "after-new", "method": "GET", "url": "/users?$select=id", "dependsOn": ["new"]},
        {"id": "missing", "method": "GET", "url": "/users/00000000-0000-0000-0000-000000000000"},
        {"id": "apps", "method": "GET", "url": "/applications"},
    ]
    response = await http.post("/$batch", json={"requests": items})
    assert response.status_code == 200
    by_id = {r["id"]: r for r in response.json()["responses"]}
    assert {k: v["status"] for k, v in by_id.items()} == {
        "new": 201, "dup": 400, "after-dup": 424, "after-new": 200, "missing": 404, "apps": 200,
    }  # fmt: skip
    assert by_id["dup"]["body"]["error"]["details"][0]["code"] == "ObjectConflict"


@pytest.mark.parametrize(
    "payload",
    [
        {"requests": [{"id": str(n), "method": "GET", "url": "/users"} for n in range(21)]},
        {"requests": [{"id": "1", "method": "GET", "url": "/users"}, {"id": "1", "method": "GET", "url": "/users"}]},
        {"requests": [{"id": "1", "method": "GET", "url": "/users", "dependsOn": ["9"]}]},
        {"requests": []},
        {"nope": True},
    ],
)
async def test_malformed_batch_is_400(http: httpx.AsyncClient, payload: dict[str, Any]) -> None:
    response = await http.post("/$batch", json=payload)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadRequest"


async def test_faults_apply_per_item_and_after_commit_items_exist(
    http: httpx.AsyncClient, control: httpx.AsyncClient
) -> None:
    await control.post("/faults", json={"504-after-commit": 1.0})
    items = [post_item(str(n), f"ac{n}@example.com") for n in range(3)]
    response = await http.post("/$batch", json={"requests": items})
    assert response.status_code == 200
    assert [r["status"] for r in response.json()["responses"]] == [504, 504, 504]
    await control.post("/faults", json={})
    for n in range(3):
        query = f"identities/any(c:c/issuerAssignedId eq 'ac{n}@example.com' and c/issuer eq '{TENANT}')"
        found = await http.get("/users", params={"$filter": query})
        assert len(found.json()["value"]) == 1  # committed despite the 504


@pytest.mark.emulator_config(seed=3, shuffle_batch_responses=True)
async def test_shuffled_batch_answers_can_be_correlated_by_id(http: httpx.AsyncClient) -> None:
    items = [post_item(str(n), f"s{n}@example.com") for n in range(10)]
    response = await http.post("/$batch", json={"requests": items})
    answers = response.json()["responses"]
    assert [a["id"] for a in answers] != [str(n) for n in range(10)]
    assert {a["id"]: a["body"]["mail"] for a in answers} == {str(n): f"s{n}@example.com" for n in range(10)}
