"""Contract: groups, membership and app-role assignments (graph docs api/group-post-groups.md,
api/group-upsert.md, api/group-post-members.md, api/user-post-approleassignments.md), through the real
msgraph-sdk and through `$batch`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from msgraph import GraphServiceClient
from msgraph.generated.models.group import Group
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.reference_create import ReferenceCreate

from emulator import EmulatorServer

SECURITY_GROUP = {"mailEnabled": False, "securityEnabled": True, "groupTypes": []}


async def test_create_group_then_add_member_once(graph: GraphServiceClient, create_user: Any, emulator: Any) -> None:
    user = await create_user("member@example.com")
    group = await graph.groups.post(
        Group(display_name="Premium customers", mail_enabled=False, mail_nickname="premium", security_enabled=True)
    )
    assert group is not None and group.id and group.display_name == "Premium customers"
    ref = ReferenceCreate(odata_id=f"{emulator.graph_url}/directoryObjects/{user['id']}")
    await graph.groups.by_group_id(group.id).members.ref.post(ref)
    with pytest.raises(ODataError) as duplicate:
        await graph.groups.by_group_id(group.id).members.ref.post(ref)
    assert duplicate.value.response_status_code == 400
    assert duplicate.value.error is not None and duplicate.value.error.code == "Request_BadRequest"
    assert "already exist" in (duplicate.value.error.message or "")
    members = await graph.groups.by_group_id(group.id).members.get()
    assert members is not None and [m.id for m in members.value or []] == [user["id"]]


async def test_group_validation_and_missing_member(http: httpx.AsyncClient) -> None:
    missing = await http.post("/groups", json={"displayName": "No nickname", **SECURITY_GROUP})
    assert missing.status_code == 400
    bad_nick = await http.post("/groups", json={"displayName": "x", "mailNickname": "a b", **SECURITY_GROUP})
    assert bad_nick.status_code == 400
    made = await http.post("/groups", json={"displayName": "G", "mailNickname": "g", **SECURITY_GROUP})
    assert made.status_code == 201
    ghost = {"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/00000000-0000-0000-0000-000000000001"}
    answer = await http.post(f"/groups/{made.json()['id']}/members/$ref", json=ghost)
    assert answer.status_code == 404


async def test_upsert_by_unique_name_creates_once(http: httpx.AsyncClient) -> None:
    body = {"displayName": "Shop admins", "mailNickname": "shopadmins", **SECURITY_GROUP}
    headers = {"Prefer": "create-if-missing"}
    first = await http.patch("/groups(uniqueName='ciam-migrate-admins')", json=body, headers=headers)
    again = await http.patch("/groups(uniqueName='ciam-migrate-admins')", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 204)
    no_prefer = await http.patch("/groups(uniqueName='other')", json=body)
    assert no_prefer.status_code == 404
    listed = await http.get("/groups", params={"$filter": "displayName eq 'Shop admins'"})
    assert [g["uniqueName"] for g in listed.json()["value"]] == ["ciam-migrate-admins"]
    by_key = await http.get("/groups(uniqueName='ciam-migrate-admins')")
    assert by_key.json()["id"] == first.json()["id"]


async def test_members_through_batch_duplicate_is_its_own_400(http: httpx.AsyncClient, create_user: Any) -> None:
    users = [await create_user(f"b{i}@example.com") for i in range(3)]
    group = (await http.post("/groups", json={"displayName": "B", "mailNickname": "b", **SECURITY_GROUP})).json()

    def item(index: int, user_id: str) -> dict[str, Any]:
        return {
            "id": str(index), "method": "POST", "url": f"/groups/{group['id']}/members/$ref",
            "headers": {"Content-Type": "application/json"},
            "body": {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{user_id}"},
        }  # fmt: skip

    requests = [item(0, users[0]["id"]), item(1, users[1]["id"]), item(2, users[0]["id"]), item(3, users[2]["id"])]
    answer = await http.post("/$batch", json={"requests": requests})
    statuses = {r["id"]: r["status"] for r in answer.json()["responses"]}
    assert statuses == {"0": 204, "1": 204, "2": 400, "3": 204}
    members = (await http.get(f"/groups/{group['id']}/members")).json()["value"]
    assert sorted(m["id"] for m in members) == sorted(u["id"] for u in users)


async def test_app_role_assignment_once(http: httpx.AsyncClient, create_user: Any, emulator: EmulatorServer) -> None:
    role_id = "5b8e4d4f-8e6b-4c5e-9b8e-3c0e6c1b1f11"
    roles = [{"id": role_id, "value": "Premium", "isEnabled": True, "allowedMemberTypes": ["User"]}]
    app = {"id": "app-1", "appId": "11111111-2222-4333-8444-555555555555", "displayName": "Shop", "appRoles": roles}
    emulator.tenant.state.applications[app["id"]] = app
    sp = await http.post("/servicePrincipals", json={"appId": app["appId"]})
    assert sp.status_code == 201 and sp.json()["appRoles"][0]["value"] == "Premium"
    assert (await http.post("/servicePrincipals", json={"appId": app["appId"]})).status_code == 409
    found = await http.get(f"/servicePrincipals(appId='{app['appId']}')")
    assert found.json()["id"] == sp.json()["id"]
    user = await create_user("roles@example.com")
    grant = {"principalId": user["id"], "resourceId": sp.json()["id"], "appRoleId": role_id}
    first = await http.post(f"/users/{user['id']}/appRoleAssignments", json=grant)
    assert first.status_code == 201 and first.json()["principalType"] == "User"
    again = await http.post(f"/users/{user['id']}/appRoleAssignments", json=grant)
    assert again.status_code == 400 and "already exists" in again.json()["error"]["message"]
    unknown = await http.post(
        f"/users/{user['id']}/appRoleAssignments", json={**grant, "appRoleId": "9b8e4d4f-8e6b-4c5e-9b8e-3c0e6c1b1f19"}
    )
    assert unknown.status_code == 400
    listed = (await http.get(f"/users/{user['id']}/appRoleAssignments")).json()["value"]
    assert [a["appRoleId"] for a in listed] == [role_id]
