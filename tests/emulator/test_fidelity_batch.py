"""Fidelity of `POST /$batch` to graph docs concepts/json-batching.md (repository
microsoftgraph/microsoft-graph-docs-contrib): what Graph refuses for the whole batch, the emulator
refuses too, with a 400 `BadRequest` (the code Graph's batch layer answers; docs/emulator.md)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.emulator.conftest import customer


def create(item_id: str, email: str, **extra: Any) -> dict[str, Any]:
    item = {"id": item_id, "method": "POST", "url": "/users", "headers": {"Content-Type": "application/json"},
            "body": customer(email)}  # fmt: skip
    item.update(extra)
    return item


async def assert_refused(http: httpx.AsyncClient, items: list[dict[str, Any]], words: str) -> None:
    response = await http.post("/$batch", json={"requests": items})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "BadRequest"
    assert words in error["message"]
    users = (await http.get("/users")).json()["value"]
    assert users == []  # a refused batch runs none of its items


async def test_ids_are_unique_case_insensitively(http: httpx.AsyncClient) -> None:
    """concepts/json-batching.md (id): "Not case-sensitive. Must be unique in the batch, otherwise,
    the batch request fails with a 400 error code"."""
    await assert_refused(http, [create("a", "a1@example.com"), create("A", "a2@example.com")], "unique")


async def test_depends_on_matches_ids_case_insensitively(http: httpx.AsyncClient) -> None:
    """concepts/json-batching.md (id: "Not case-sensitive"; dependsOn references an id)."""
    items = [create("First", "d1@example.com"), create("second", "d2@example.com", dependsOn=["first"])]
    response = await http.post("/$batch", json={"requests": items})
    assert response.status_code == 200
    assert sorted(r["status"] for r in response.json()["responses"]) == [201, 201]


@pytest.mark.parametrize(
    "url",
    ["https://graph.microsoft.com/v1.0/users", "http://127.0.0.1:8765/v1.0/users", "//graph.microsoft.com/v1.0/users"],
)
async def test_absolute_urls_are_refused(http: httpx.AsyncClient, url: str) -> None:
    """concepts/json-batching.md (url): "The relative resource URL for the individual request. Therefore,
    while the absolute URL is https://graph.microsoft.com/v1.0/users, this url is /users"."""
    await assert_refused(http, [create("1", "abs@example.com", url=url)], "absolute")


@pytest.mark.parametrize("headers", [None, {}, {"ConsistencyLevel": "eventual"}, {"Content-Type": ""}])
async def test_a_body_needs_a_content_type_header(http: httpx.AsyncClient, headers: dict[str, str] | None) -> None:
    """concepts/json-batching.md (headers/body): "When a body is included with the request, the headers
    object must contain a value for Content-Type"."""
    item = create("1", "noct@example.com")
    if headers is None:
        del item["headers"]
    else:
        item["headers"] = headers
    await assert_refused(http, [item], "Content-Type")


async def test_content_type_header_name_is_case_insensitive(http: httpx.AsyncClient) -> None:
    """RFC 9110 header names are case-insensitive; json-batching.md's own example spells it Content-Type."""
    item = create("1", "ct@example.com", headers={"content-type": "application/json"})
    response = await http.post("/$batch", json={"requests": [item]})
    assert response.status_code == 200
    assert response.json()["responses"][0]["status"] == 201
