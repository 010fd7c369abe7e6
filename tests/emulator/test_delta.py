"""Contract: GET /users/delta (graph docs api/user-delta.md): full round, deltaLink, changes and
deletions (`@removed`) next round, 410 on an expired token (docs/limits.md, docs/guarantees.md R16)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from msgraph import GraphServiceClient
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.user import User


async def full_round(graph: GraphServiceClient, link: str | None = None) -> tuple[list[User], str]:
    builder = graph.users.delta
    page = await (builder.with_url(link).get() if link else builder.get())
    users: list[User] = []
    while page is not None:
        users.extend(page.value or [])
        if page.odata_next_link:
            page = await builder.with_url(page.odata_next_link).get()
            continue
        assert page.odata_delta_link
        return users, page.odata_delta_link
    raise AssertionError("delta ended without a deltaLink")


@pytest.mark.emulator_config(page_size_default=2)
async def test_delta_reports_changes_and_removals(graph: GraphServiceClient, create_user: Any,
                                                  http: httpx.AsyncClient) -> None:  # fmt: skip
    users = [await create_user(f"d{n}@example.com") for n in range(5)]
    initial, link = await full_round(graph)
    assert sorted(u.id or "" for u in initial) == sorted(u["id"] for u in users)

    await http.patch(f"/users/{users[0]['id']}", json={"displayName": "changed"})
    await http.delete(f"/users/{users[1]['id']}")
    added = await create_user("d5@example.com")
    changes, link2 = await full_round(graph, link)
    by_id = {u.id: u for u in changes}
    assert set(by_id) == {users[0]["id"], users[1]["id"], added["id"]}
    assert by_id[users[0]["id"]].display_name == "changed"
    assert by_id[users[1]["id"]].additional_data["@removed"] == {"reason": "changed"}
    assert "@removed" not in by_id[added["id"]].additional_data

    quiet, _ = await full_round(graph, link2)
    assert quiet == []


async def test_expired_delta_token_is_410(graph: GraphServiceClient, control: httpx.AsyncClient) -> None:
    _, link = await full_round(graph)
    assert (await control.post("/delta/expire")).status_code == 200
    with pytest.raises(ODataError) as error:
        await graph.users.delta.with_url(link).get()
    assert error.value.response_status_code == 410
    _, fresh = await full_round(graph)  # a new full round works again
    assert fresh


@pytest.mark.emulator_config(time_scale=1000, quotas={"delta_token_ttl_s": 100})
async def test_delta_token_ttl_expires_with_time_scale(graph: GraphServiceClient) -> None:
    import asyncio

    _, link = await full_round(graph)
    await asyncio.sleep(0.15)  # 100 s / 1000 = 0.1 s
    with pytest.raises(ODataError) as error:
        await graph.users.delta.with_url(link).get()
    assert error.value.response_status_code == 410
