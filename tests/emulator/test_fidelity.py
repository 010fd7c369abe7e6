"""Fidelity: the emulator refuses what Entra documents as refused, so a rehearsal that passes
against it does not then fail in a tenant. Each test names the Microsoft doc it follows
(repository microsoftgraph/microsoft-graph-docs-contrib unless marked entra-docs)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shared.entra_limits import MAX_EXTENSION_STRING, USER_STRING_MAXIMA
from shared.preflight import MAX_STRING_ATTRIBUTE, check_attribute
from tests.emulator.conftest import customer


def error_code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


@pytest.mark.parametrize(
    ("prop", "limit"),
    [("givenName", 64), ("surname", 64), ("mobilePhone", 64), ("mailNickname", 64), ("displayName", 256),
     ("city", 128), ("companyName", 64), ("country", 128), ("department", 64), ("employeeId", 16),
     ("jobTitle", 128), ("postalCode", 40), ("state", 128), ("streetAddress", 1024)],
)  # fmt: skip
async def test_user_string_maxima_from_user_md(http: httpx.AsyncClient, prop: str, limit: int) -> None:
    """api-reference/v1.0/resources/user.md: "Maximum length is N characters" for each property."""
    assert USER_STRING_MAXIMA[prop] == limit
    at_limit = await http.post("/users", json=customer(f"ok-{prop.lower()}@example.com", **{prop: "x" * limit}))
    assert at_limit.status_code == 201, at_limit.text
    over = await http.post("/users", json=customer(f"no-{prop.lower()}@example.com", **{prop: "x" * (limit + 1)}))
    assert over.status_code == 400 and error_code(over) == "Request_BadRequest"
    assert prop in over.json()["error"]["message"]
    # PATCH obeys the same maxima.
    user_id = at_limit.json()["id"]
    patched = await http.patch(f"/users/{user_id}", json={prop: "y" * (limit + 1)})
    assert patched.status_code == 400, patched.text


async def test_business_phones_holds_one_number(http: httpx.AsyncClient) -> None:
    """api-reference/v1.0/resources/user.md (businessPhones): "only one number can be set"."""
    two = await http.post("/users", json=customer("bp@example.com", businessPhones=["+1 5550100", "+1 5550101"]))
    assert two.status_code == 400
    one = await http.post("/users", json=customer("bp1@example.com", businessPhones=["+1 5550100"]))
    assert one.status_code == 201, one.text


async def test_extension_string_limit_is_250_in_emulator_and_preflight(http: httpx.AsyncClient) -> None:
    """entra-docs docs/external-id/customers/reference-service-limits.md: "String Limit per Attribute
    250 Chars" (resources/extensionproperty.md says 256; the product-specific number wins)."""
    assert MAX_EXTENSION_STRING == MAX_STRING_ATTRIBUTE == 250
    app = (await http.get("/applications")).json()["value"][0]
    prop = await http.post(
        f"/applications/{app['id']}/extensionProperties",
        json={"name": "loyalty", "dataType": "String", "targetObjects": ["User"]},
    )
    assert prop.status_code == 201, prop.text
    name = prop.json()["name"]
    ok = await http.post("/users", json=customer("ext250@example.com", **{name: "a" * 250}))
    assert ok.status_code == 201, ok.text
    over = await http.post("/users", json=customer("ext251@example.com", **{name: "a" * 251}))
    assert over.status_code == 400
    # Preflight rejects the same record before anything is sent.
    assert check_attribute("loyalty", "a" * 250) is None
    assert check_attribute("loyalty", "a" * 251) is not None


@pytest.mark.parametrize("option", ["$orderby=displayName", "$expand=manager"])
async def test_orderby_and_expand_are_refused_not_ignored(http: httpx.AsyncClient, option: str) -> None:
    """concepts/query-parameters.md, concepts/aad-advanced-queries.md: Graph sorts and expands only
    some properties; the emulator models neither, so it answers 400 rather than an unsorted or
    unexpanded page a client would mistake for Graph's answer (docs/emulator.md)."""
    response = await http.get(f"/users?{option}")
    assert response.status_code == 400
    assert error_code(response) == "Request_UnsupportedQuery"


async def test_search_needs_consistency_level_like_graph(http: httpx.AsyncClient) -> None:
    """concepts/aad-advanced-queries.md: `$search` on directory objects without `ConsistencyLevel:
    eventual` is a 400 Request_UnsupportedQuery with exactly this message."""
    plain = await http.get('/users?$search="displayName:ada"')
    assert plain.status_code == 400 and error_code(plain) == "Request_UnsupportedQuery"
    assert "ConsistencyLevel: eventual" in plain.json()["error"]["message"]
    eventual = await http.get('/users?$search="displayName:ada"', headers={"ConsistencyLevel": "eventual"})
    assert eventual.status_code == 400 and "not modelled" in eventual.json()["error"]["message"]


async def test_alternate_mobile_needs_mobile_first(http: httpx.AsyncClient, create_user: Any) -> None:
    """api-reference/v1.0/api/authentication-post-phonemethods.md: "a user must always have a
    `mobile` phone before adding an `alternateMobile` phone"."""
    user = await create_user("alt@example.com")
    path = f"/users/{user['id']}/authentication/phoneMethods"
    early = await http.post(path, json={"phoneNumber": "+1 2065550100", "phoneType": "alternateMobile"})
    assert early.status_code == 400 and "mobile" in early.json()["error"]["message"]
    assert (await http.post(path, json={"phoneNumber": "+1 2065550101", "phoneType": "mobile"})).status_code == 201
    late = await http.post(path, json={"phoneNumber": "+1 2065550100", "phoneType": "alternateMobile"})
    assert late.status_code == 201, late.text


async def _delta_round(http: httpx.AsyncClient, url: str) -> tuple[list[dict[str, Any]], str]:
    seen: list[dict[str, Any]] = []
    while True:
        page = (await http.get(url)).json()
        seen.extend(page["value"])
        if "@odata.nextLink" in page:
            url = page["@odata.nextLink"]
            continue
        return seen, page["@odata.deltaLink"]


@pytest.mark.emulator_config(page_size_default=1)
async def test_delta_filter_by_id_tracks_only_those_users(http: httpx.AsyncClient, create_user: Any) -> None:
    """api-reference/v1.0/api/user-delta.md: "The only supported $filter expression is for tracking
    changes on a specific object: $filter=id eq {value}" (several joined by `or`, at most 50)."""
    users = [await create_user(f"df{n}@example.com") for n in range(4)]
    wanted = [users[1]["id"], users[3]["id"]]
    expression = " or ".join(f"id eq '{i}'" for i in wanted)
    initial, link = await _delta_round(http, f"/users/delta?$filter={expression}")
    assert sorted(u["id"] for u in initial) == sorted(wanted)  # across pages of one

    for user in users:
        await http.patch(f"/users/{user['id']}", json={"displayName": "renamed"})
    changes, _ = await _delta_round(http, link)
    assert sorted(u["id"] for u in changes) == sorted(wanted)

    other = await http.get("/users/delta?$filter=displayName eq 'renamed'")
    assert other.status_code == 400 and error_code(other) == "Request_UnsupportedQuery"
    too_many = " or ".join(f"id eq '{n}'" for n in range(51))
    assert (await http.get(f"/users/delta?$filter={too_many}")).status_code == 400
