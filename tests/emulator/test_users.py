"""Contract: /users through the real msgraph-sdk — create, read, filter, page, update, delete,
and every validation error docs/limits.md lists, in Graph's error shape."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphServiceClient
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.object_identity import ObjectIdentity
from msgraph.generated.models.password_profile import PasswordProfile
from msgraph.generated.models.user import User
from msgraph.generated.users.users_request_builder import UsersRequestBuilder

from tests.emulator.conftest import STRONG_PASSWORD, TENANT, customer


def sdk_customer(email: str, password: str = STRONG_PASSWORD, **extra: Any) -> User:
    return User(
        display_name=email.split("@")[0],
        mail=email,
        identities=[ObjectIdentity(sign_in_type="emailAddress", issuer=TENANT, issuer_assigned_id=email)],
        password_profile=PasswordProfile(password=password, force_change_password_next_sign_in=False),
        password_policies="DisablePasswordExpiration",
        **extra,
    )


def list_config(**params: Any) -> RequestConfiguration[UsersRequestBuilder.UsersRequestBuilderGetQueryParameters]:
    config = RequestConfiguration(query_parameters=UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(**params))
    if params.get("count"):
        config.headers.add("ConsistencyLevel", "eventual")
    return config


async def test_create_customer_generates_upn_and_reads_back(graph: GraphServiceClient) -> None:
    created = await graph.users.post(sdk_customer("ada@example.com"))
    assert created is not None and created.id
    assert created.user_principal_name == f"{created.id}@{TENANT}"

    fetched = await graph.users.by_user_id(created.id).get()
    assert fetched is not None and fetched.mail == "ada@example.com"
    # Default projection, as Graph: identities only with $select.
    assert fetched.identities is None


async def test_find_by_identity_filter_with_select(graph: GraphServiceClient) -> None:
    created = await graph.users.post(sdk_customer("grace@example.com"))
    assert created is not None
    await graph.users.post(sdk_customer("other@example.com"))
    query = f"identities/any(c:c/issuerAssignedId eq 'grace@example.com' and c/issuer eq '{TENANT}')"
    page = await graph.users.get(list_config(filter=query, select=["id", "identities"]))
    assert page is not None and page.value is not None
    assert [u.id for u in page.value] == [created.id]
    assert page.value[0].identities is not None
    assert {i.sign_in_type for i in page.value[0].identities} == {"emailAddress", "userPrincipalName"}


async def test_filter_by_mail_and_id_and_unsupported(graph: GraphServiceClient) -> None:
    created = await graph.users.post(sdk_customer("mail@example.com"))
    assert created is not None
    by_mail = await graph.users.get(list_config(filter="mail eq 'MAIL@example.com'"))
    assert by_mail is not None and [u.id for u in by_mail.value or []] == [created.id]
    by_id = await graph.users.get(list_config(filter=f"id eq '{created.id}'"))
    assert by_id is not None and len(by_id.value or []) == 1
    with pytest.raises(ODataError) as error:
        await graph.users.get(list_config(filter="startswith(displayName,'a')"))
    assert error.value.response_status_code == 400
    assert error.value.error is not None and error.value.error.code == "Request_UnsupportedQuery"


async def test_paging_follows_next_link_to_every_user(graph: GraphServiceClient) -> None:
    for n in range(7):
        await graph.users.post(sdk_customer(f"p{n}@example.com"))
    seen: list[str] = []
    page = await graph.users.get(list_config(top=3, count=True))
    assert page is not None and page.odata_count == 7
    pages = 0
    while page is not None:
        pages += 1
        seen.extend(u.id for u in page.value or [] if u.id)
        if not page.odata_next_link:
            break
        page = await graph.users.with_url(page.odata_next_link).get()
    assert pages == 3
    assert len(seen) == len(set(seen)) == 7


async def test_count_needs_consistency_level(http: httpx.AsyncClient) -> None:
    response = await http.get("/users", params={"$count": "true"})
    assert response.status_code == 400
    response = await http.get("/users/$count", headers={"ConsistencyLevel": "eventual"})
    assert response.status_code == 200 and response.text == "0"


async def test_duplicate_identity_is_object_conflict(graph: GraphServiceClient) -> None:
    await graph.users.post(sdk_customer("dup@example.com"))
    with pytest.raises(ODataError) as error:
        # Same identity, different case: Entra identities are unique case-insensitively.
        await graph.users.post(sdk_customer("DUP@example.com"))
    main = error.value.error
    assert error.value.response_status_code == 400
    assert main is not None and main.code == "Request_BadRequest"
    assert main.details is not None and main.details[0].code == "ObjectConflict"
    assert main.details[0].target == "identities"
    assert main.inner_error is not None and main.inner_error.request_id


@pytest.mark.parametrize(
    ("password", "policies", "status"),
    [
        ("short1A!", "DisablePasswordExpiration", 201),  # 8 chars, 4 classes
        ("short1A", "DisablePasswordExpiration", 400),  # 7 chars
        ("alllowercase1", "DisablePasswordExpiration", 400),  # 2 classes
        ("Pässwörd123!", "DisablePasswordExpiration", 400),  # non-ASCII
        ("x" * 257, "DisablePasswordExpiration", 400),  # > 256
        ("weak", "DisablePasswordExpiration,DisableStrongPassword", 201),
    ],
)
async def test_password_policy(http: httpx.AsyncClient, password: str, policies: str, status: int) -> None:
    body = customer("pw@example.com", passwordPolicies=policies)
    body["passwordProfile"]["password"] = password
    response = await http.post("/users", json=body)
    assert response.status_code == status, response.text
    if status == 400:
        assert "password complexity" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda b: b.pop("displayName"), "displayName"),
        (lambda b: b.pop("passwordProfile"), "passwordProfile"),
        (lambda b: b.update(mail="not-an-email"), "mail"),
        (lambda b: b["identities"][0].update(issuerAssignedId="nope"), "valid email"),
        (lambda b: b["identities"][0].update(issuerAssignedId="a" * 60 + "@x.com"), "64"),
        (lambda b: b["identities"][0].update(issuer="x" * 513), "512"),
        (lambda b: b["identities"][0].update(issuer="fabrikam.onmicrosoft.com"), "tenant domain"),
        (
            lambda b: b.update(identities=[{"signInType": "userName", "issuer": TENANT, "issuerAssignedId": "-bad"}]),
            "userName",
        ),
        (lambda b: b.pop("passwordPolicies"), "DisablePasswordExpiration"),
        (lambda b: b.update(favouriteColour="blue"), "favouriteColour"),
        (lambda b: b.update(userPrincipalName="bad name@contoso.onmicrosoft.com"), "userPrincipalName"),
        (lambda b: b.update(userPrincipalName="a@fabrikam.com"), "verified domain"),
        (lambda b: b.update(userPrincipalName="a" * 65 + "@contoso.onmicrosoft.com"), "userPrincipalName"),
    ],
)
async def test_create_rejects_invalid_payload(http: httpx.AsyncClient, mutate: Any, fragment: str) -> None:
    body = customer("bad@example.com")
    mutate(body)
    response = await http.post("/users", json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "Request_BadRequest"
    assert fragment in error["message"]
    assert set(error["innerError"]) >= {"request-id", "date", "client-request-id"}
    assert (await http.get("/users")).json()["value"] == []  # nothing half-created


async def test_workforce_style_user_needs_upn_and_account_enabled(http: httpx.AsyncClient) -> None:
    base = {"displayName": "Admin", "passwordProfile": {"password": STRONG_PASSWORD}}
    assert (await http.post("/users", json=base)).status_code == 400
    with_upn = {**base, "userPrincipalName": f"admin@{TENANT}"}
    assert (await http.post("/users", json=with_upn)).status_code == 400  # accountEnabled missing
    created = await http.post("/users", json={**with_upn, "accountEnabled": True})
    assert created.status_code == 201 and created.json()["userPrincipalName"] == f"admin@{TENANT}"
    again = await http.post("/users", json={**with_upn, "accountEnabled": True})
    assert again.json()["error"]["details"][0] == {
        "code": "ObjectConflict",
        "target": "userPrincipalName",
        "message": again.json()["error"]["message"],
    }


async def test_update_and_delete(graph: GraphServiceClient) -> None:
    created = await graph.users.post(sdk_customer("upd@example.com"))
    assert created is not None and created.id
    await graph.users.by_user_id(created.id).patch(User(display_name="Renamed", given_name="Ada"))
    fetched = await graph.users.by_user_id(created.id).get()
    assert fetched is not None and fetched.display_name == "Renamed" and fetched.given_name == "Ada"
    with pytest.raises(ODataError) as error:
        await graph.users.by_user_id(created.id).patch(
            User(password_profile=PasswordProfile(password="weak", force_change_password_next_sign_in=False))
        )
    assert error.value.response_status_code == 400
    await graph.users.by_user_id(created.id).delete()
    with pytest.raises(ODataError) as missing:
        await graph.users.by_user_id(created.id).get()
    assert missing.value.response_status_code == 404
    assert missing.value.error is not None and missing.value.error.code == "Request_ResourceNotFound"


async def test_patch_identity_onto_another_users_identity_conflicts(http: httpx.AsyncClient, create_user: Any) -> None:
    await create_user("one@example.com")
    two = await create_user("two@example.com")
    response = await http.patch(
        f"/users/{two['id']}",
        json={"identities": [{"signInType": "emailAddress", "issuer": TENANT, "issuerAssignedId": "one@example.com"}]},
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["code"] == "ObjectConflict"


async def test_request_without_token_is_401(emulator: Any) -> None:
    async with httpx.AsyncClient(base_url=emulator.graph_url) as anonymous:
        response = await anonymous.get("/users")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "InvalidAuthenticationToken"
        garbled = await anonymous.get("/users", headers={"Authorization": "Bearer not-a-jwt"})
        assert garbled.status_code == 401


@pytest.mark.emulator_config(quotas={"object_quota": 3})
async def test_object_quota_exceeded(http: httpx.AsyncClient, create_user: Any) -> None:
    # 1 pre-created b2c-extensions-app + 2 users = 3 objects: the third user is over quota.
    await create_user("q1@example.com")
    await create_user("q2@example.com")
    response = await http.post("/users", json=customer("q3@example.com"))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "Directory_QuotaExceeded"
