"""What the sync needs from the tenant emulator, as Microsoft documents it:

* soft delete and restore (graph docs api-reference/v1.0/api/user-delete.md, api-reference/v1.0/api/
  directory-deleteditems-restore.md: a deleted user stays in deleted items for 30 days; restore answers 200 with
  the object);
* read-after-write lag on PATCH and on identity-filter lookups, not only on GET /users/{id} after a create
  (docs/limits.md: reads lag writes);
* documented maximum lengths on PATCH (api-reference/v1.0/resources/user.md: givenName, surname, mobilePhone 64,
  displayName 256).
"""

from __future__ import annotations

from typing import Any

import httpx

from emulator import EmulatorServer
from tests.emulator.conftest import TENANT


def by_identity(email: str) -> str:
    return f"/users?$filter=identities/any(c:c/issuerAssignedId eq '{email}' and c/issuer eq '{TENANT}')"


async def test_delete_is_soft_and_restore_brings_the_user_back(http: httpx.AsyncClient, create_user: Any) -> None:
    user = await create_user("gone@example.com", givenName="Ada")
    assert (await http.delete(f"/users/{user['id']}")).status_code == 204
    assert (await http.get(f"/users/{user['id']}")).status_code == 404
    assert (await http.get(by_identity("gone@example.com"))).json()["value"] == []
    deleted = await http.get(f"/directory/deletedItems/{user['id']}")
    assert deleted.status_code == 200 and deleted.json()["deletedDateTime"]
    restored = await http.post(f"/directory/deletedItems/{user['id']}/restore")
    assert restored.status_code == 200, restored.text
    assert restored.json()["@odata.type"] == "#microsoft.graph.user" and restored.json()["id"] == user["id"]
    again = await http.get(f"/users/{user['id']}?$select=id,givenName,deletedDateTime")
    assert again.status_code == 200 and again.json()["givenName"] == "Ada" and again.json()["deletedDateTime"] is None
    assert (await http.post(f"/directory/deletedItems/{user['id']}/restore")).status_code == 404


async def test_restore_is_refused_when_another_user_took_the_identity(
    http: httpx.AsyncClient, create_user: Any
) -> None:
    user = await create_user("taken@example.com")
    await http.delete(f"/users/{user['id']}")
    await create_user("taken@example.com")  # the identity is free again after the delete
    refused = await http.post(f"/directory/deletedItems/{user['id']}/restore")
    assert refused.status_code == 400
    assert refused.json()["error"]["details"][0]["code"] == "ObjectConflict"


async def test_lag_answers_the_previous_data_after_a_patch_and_hides_changed_identities(
    http: httpx.AsyncClient, control: httpx.AsyncClient, create_user: Any, emulator: EmulatorServer
) -> None:
    user = await create_user("before@example.com", surname="Old")
    emulator.tenant.state.users[user["id"]].created_mono = 0.0  # created long ago: only the PATCH is recent
    identities = [{"signInType": "emailAddress", "issuer": TENANT, "issuerAssignedId": "after@example.com"}]
    await control.post("/faults", json={"lag": 1.0, "lag-ms": 60_000})
    patched = await http.patch(f"/users/{user['id']}", json={"surname": "New", "identities": identities})
    assert patched.status_code == 204
    stale = await http.get(f"/users/{user['id']}?$select=id,surname")
    assert stale.json()["surname"] == "Old", "inside the read-after-write window a read may answer the old data"
    assert (await http.get(by_identity("after@example.com"))).json()["value"] == []
    await control.post("/faults", json={})
    assert (await http.get(f"/users/{user['id']}?$select=id,surname")).json()["surname"] == "New"
    found = (await http.get(by_identity("after@example.com"))).json()["value"]
    assert [u["id"] for u in found] == [user["id"]]


async def test_patch_keeps_the_documented_lengths(http: httpx.AsyncClient, create_user: Any) -> None:
    user = await create_user("long@example.com")
    for name, limit in (("surname", 64), ("givenName", 64), ("mobilePhone", 64), ("displayName", 256)):
        too_long = await http.patch(f"/users/{user['id']}", json={name: "x" * (limit + 1)})
        assert (name, too_long.status_code) == (name, 400)
        assert (await http.patch(f"/users/{user['id']}", json={name: "x" * limit})).status_code == 204
