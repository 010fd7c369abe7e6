"""Federated (social) identities on POST /users, as Graph documents them.

Sources (microsoftgraph/microsoft-graph-docs-contrib): api-reference/v1.0/resources/objectidentity.md
(federated = the issuer's own identifier; issuer ≤ 512 characters, issuerAssignedId ≤ 64; the pair unique
in the tenant) and api-reference/v1.0/api/user-post-users.md ("For a social identity, none of the
properties are required": no passwordProfile). Whether an external tenant accepts pre-created social users
is not documented (entra-docs external-id/customers/how-to-migrate-users.md points at the same example);
`allow_federated_identities=False` rehearses a tenant that refuses them.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.emulator.conftest import customer


def social(issuer: str = "google.com", subject: str = "g-1", **extra: Any) -> dict[str, Any]:
    return {"displayName": "Sam", "identities": [{"signInType": "federated", "issuer": issuer,
                                                  "issuerAssignedId": subject}], **extra}  # fmt: skip


async def test_a_social_only_user_needs_no_password(http: httpx.AsyncClient) -> None:
    created = await http.post("/users", json=social())
    assert created.status_code == 201, created.text
    body = created.json()
    assert {"signInType": "federated", "issuer": "google.com", "issuerAssignedId": "g-1"} in body["identities"]
    assert body.get("passwordPolicies") is None
    local = customer("no-password@example.com")
    del local["passwordProfile"]
    refused = await http.post("/users", json=local)  # a local account does need one
    assert refused.status_code == 400 and "passwordProfile" in refused.json()["error"]["message"]


async def test_federated_identity_rules(http: httpx.AsyncClient) -> None:
    assert (await http.post("/users", json=social(subject="x" * 64))).status_code == 201
    for body in (social(subject="x" * 65), social(issuer="i" * 513, subject="s-2"), social(subject="")):
        answer = await http.post("/users", json=body)
        assert answer.status_code == 400 and answer.json()["error"]["code"] == "Request_BadRequest", body
    assert (await http.post("/users", json=social(subject="dup"))).status_code == 201
    again = await http.post("/users", json=social(subject="DUP"))  # the same pair, another case
    assert again.status_code == 400
    assert again.json()["error"]["details"][0]["code"] == "ObjectConflict"
    other_idp = await http.post("/users", json=social(issuer="facebook.com", subject="dup"))
    assert other_idp.status_code == 201, "the pair is unique, not the subject alone"
    # A federated identity beside a local one: one account, both sign-ins (user-post-users.md example 2).
    mixed = customer("mixed@example.com")
    mixed["identities"].append({"signInType": "federated", "issuer": "google.com", "issuerAssignedId": "g-mixed"})
    assert (await http.post("/users", json=mixed)).status_code == 201


async def test_a_social_user_is_found_by_its_issuer_and_subject(http: httpx.AsyncClient) -> None:
    assert (await http.post("/users", json=social(subject="find-me"))).status_code == 201
    query = "identities/any(c:c/issuerAssignedId eq 'find-me' and c/issuer eq 'google.com')"
    found = await http.get("/users", params={"$filter": query})
    assert found.status_code == 200 and len(found.json()["value"]) == 1


@pytest.mark.emulator_config(allow_federated_identities=False)
async def test_a_tenant_that_refuses_social_users(http: httpx.AsyncClient) -> None:
    answer = await http.post("/users", json=social())
    assert answer.status_code == 400 and "Federated identities" in answer.json()["error"]["message"]
