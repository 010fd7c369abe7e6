"""Contract: the pre-created b2c-extensions-app, extension properties, and extension values on
users (docs/limits.md custom attributes; graph docs api/application-post-extensionproperty.md)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphServiceClient
from msgraph.generated.applications.applications_request_builder import ApplicationsRequestBuilder
from msgraph.generated.models.extension_property import ExtensionProperty
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.user import User
from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder

from emulator import DEFAULT_EXTENSIONS_APP_ID
from tests.emulator.conftest import customer

PREFIX = f"extension_{DEFAULT_EXTENSIONS_APP_ID.replace('-', '')}_"


async def extensions_app_id(graph: GraphServiceClient) -> str:
    params = ApplicationsRequestBuilder.ApplicationsRequestBuilderGetQueryParameters(
        filter=f"appId eq '{DEFAULT_EXTENSIONS_APP_ID}'"
    )
    page = await graph.applications.get(RequestConfiguration(query_parameters=params))
    assert page is not None and page.value is not None and len(page.value) == 1
    app = page.value[0]
    assert app.display_name == "b2c-extensions-app. Do not modify. Used by AADB2C for storing user data."
    assert app.id
    return app.id


async def register(graph: GraphServiceClient, name: str, data_type: str) -> str:
    app_id = await extensions_app_id(graph)
    created = await graph.applications.by_application_id(app_id).extension_properties.post(
        ExtensionProperty(name=name, data_type=data_type, target_objects=["User"])
    )
    assert created is not None and created.name == PREFIX + name
    return created.name


async def test_register_and_list_extension_properties(graph: GraphServiceClient) -> None:
    app_id = await extensions_app_id(graph)
    fetched = await graph.applications.by_application_id(app_id).get()
    assert fetched is not None and fetched.app_id == DEFAULT_EXTENSIONS_APP_ID
    await register(graph, "toBeMigrated", "Boolean")
    listed = await graph.applications.by_application_id(app_id).extension_properties.get()
    assert listed is not None and [p.name for p in listed.value or []] == [PREFIX + "toBeMigrated"]
    with pytest.raises(ODataError) as duplicate:
        await graph.applications.by_application_id(app_id).extension_properties.post(
            ExtensionProperty(name="toBeMigrated", data_type="Boolean", target_objects=["User"])
        )
    assert duplicate.value.response_status_code == 400


async def test_extension_values_round_trip_with_select(graph: GraphServiceClient, http: httpx.AsyncClient) -> None:
    flag = await register(graph, "toBeMigrated", "Boolean")
    tier = await register(graph, "loyaltyTier", "String")
    response = await http.post("/users", json=customer("ext@example.com", **{flag: True, tier: "gold"}))
    assert response.status_code == 201, response.text
    user_id = response.json()["id"]
    params = UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(select=["id", flag, tier])
    user = await graph.users.by_user_id(user_id).get(RequestConfiguration(query_parameters=params))
    assert user is not None and user.additional_data[flag] is True and user.additional_data[tier] == "gold"
    await graph.users.by_user_id(user_id).patch(User(additional_data={flag: None}))
    user = await graph.users.by_user_id(user_id).get(RequestConfiguration(query_parameters=params))
    assert user is not None and flag not in user.additional_data


@pytest.mark.parametrize(
    ("name", "data_type", "value"),
    [
        ("unregistered", None, "x"),
        ("tier", "String", "x" * 257),
        ("tier", "String", 5),
        ("flag", "Boolean", "true"),
        ("points", "Integer", 2**31),
        ("seen", "DateTime", "yesterday"),
    ],
)
async def test_invalid_extension_values_are_400(
    graph: GraphServiceClient, http: httpx.AsyncClient, name: str, data_type: str | None, value: Any
) -> None:
    if data_type:
        await register(graph, name, data_type)
    response = await http.post("/users", json=customer("bad@example.com", **{PREFIX + name: value}))
    assert response.status_code == 400
    assert PREFIX + name in response.json()["error"]["message"]


@pytest.mark.emulator_config(quotas={"max_extension_values_per_user": 2})
async def test_at_most_n_extension_values_per_user(graph: GraphServiceClient, http: httpx.AsyncClient) -> None:
    names = [await register(graph, f"a{n}", "String") for n in range(3)]
    too_many = await http.post("/users", json=customer("many@example.com", **{n: "v" for n in names}))
    assert too_many.status_code == 400
    ok = await http.post("/users", json=customer("many@example.com", **{n: "v" for n in names[:2]}))
    assert ok.status_code == 201
    patched = await http.patch(f"/users/{ok.json()['id']}", json={names[2]: "v"})
    assert patched.status_code == 400
