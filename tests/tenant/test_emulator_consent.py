"""The emulator grants application permissions as Graph documents it (emulator/app_consent.py): POST
/servicePrincipals/{resource}/appRoleAssignedTo, with Graph's answers for a wrong appRoleId, resourceId or
principalId and for a second identical grant."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from emulator import EmulatorHandle
from shared.adapters.graph.client import emulator_token

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
RECEIVE_PAYLOAD = "214e810f-fda8-4fd7-a475-29461495eb00"


@pytest.fixture
def graph(start_emulator: Any) -> httpx.Client:
    handle: EmulatorHandle = start_emulator()
    token = emulator_token().token
    return httpx.Client(base_url=handle.graph_url, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def _principals(graph: httpx.Client) -> tuple[dict[str, Any], dict[str, Any]]:
    """(Microsoft Graph's service principal, a new extension app's service principal)."""
    found = graph.get("/servicePrincipals", params={"$filter": f"appId eq '{GRAPH_APP_ID}'"}).json()["value"]
    app = graph.post("/applications", json={"displayName": "jit extension"}).json()
    made = graph.post("/servicePrincipals", json={"appId": app["appId"]})
    assert made.status_code == 201
    return found[0], made.json()


def _error(response: httpx.Response) -> tuple[int, str, str]:
    error = response.json()["error"]
    return response.status_code, error["code"], error["message"]


def test_grant_answers_the_assignment_and_both_sides_list_it(graph: httpx.Client) -> None:
    resource, client = _principals(graph)
    assert any(r["id"] == RECEIVE_PAYLOAD for r in resource["appRoles"])  # Graph's app roles include it
    body = {"principalId": client["id"], "resourceId": resource["id"], "appRoleId": RECEIVE_PAYLOAD}
    granted = graph.post(f"/servicePrincipals/{resource['id']}/appRoleAssignedTo", json=body)
    assert granted.status_code == 201
    assignment = granted.json()
    assert {k: assignment[k] for k in ("appRoleId", "principalId", "principalType", "resourceId")} == {
        "appRoleId": RECEIVE_PAYLOAD, "principalId": client["id"], "principalType": "ServicePrincipal",
        "resourceId": resource["id"]}  # fmt: skip
    assert assignment["resourceDisplayName"] == "Microsoft Graph" and assignment["createdDateTime"]
    assert "appRoleAssignedTo/$entity" in assignment["@odata.context"]
    held = graph.get(f"/servicePrincipals/{client['id']}/appRoleAssignments").json()["value"]
    assert [a["id"] for a in held] == [assignment["id"]]
    by_app_id = f"/servicePrincipals(appId='{GRAPH_APP_ID}')/appRoleAssignedTo"
    assert assignment["id"] in [a["id"] for a in graph.get(by_app_id).json()["value"]]
    again = graph.post(f"/servicePrincipals/{resource['id']}/appRoleAssignedTo", json=body)
    assert _error(again) == (400, "Request_BadRequest", "Permission being assigned already exists on the object")


def test_wrong_app_role_resource_or_principal_get_graphs_answers(graph: httpx.Client) -> None:
    resource, client = _principals(graph)
    grant = f"/servicePrincipals/{resource['id']}/appRoleAssignedTo"
    body = {"principalId": client["id"], "resourceId": resource["id"], "appRoleId": RECEIVE_PAYLOAD}
    wrong_role = graph.post(grant, json={**body, "appRoleId": "11111111-1111-4111-8111-111111111111"})
    not_found = f"Permission being assigned was not found on application '{GRAPH_APP_ID}'."
    assert _error(wrong_role) == (400, "Request_BadRequest", not_found)
    wrong_resource = graph.post(grant, json={**body, "resourceId": client["id"]})  # the client's own id
    assert _error(wrong_resource) == (400, "Request_BadRequest", "Not a valid reference update.")
    unknown_principal = graph.post(grant, json={**body, "principalId": "22222222-2222-4222-8222-222222222222"})
    assert _error(unknown_principal) == (400, "Request_BadRequest", "Not a valid reference update.")
    missing = graph.post(grant, json={"principalId": client["id"], "resourceId": resource["id"]})
    assert _error(missing)[:2] == (400, "Request_BadRequest")
    nowhere = graph.post("/servicePrincipals/33333333-3333-4333-8333-333333333333/appRoleAssignedTo", json=body)
    assert _error(nowhere)[:2] == (404, "Request_ResourceNotFound")
    assert graph.get(f"/servicePrincipals/{client['id']}/appRoleAssignments").json()["value"] == []


def test_deleting_a_service_principal_takes_its_grants(graph: httpx.Client) -> None:
    resource, client = _principals(graph)
    body = {"principalId": client["id"], "resourceId": resource["id"], "appRoleId": RECEIVE_PAYLOAD}
    assert graph.post(f"/servicePrincipals/{resource['id']}/appRoleAssignedTo", json=body).status_code == 201
    assert graph.delete(f"/servicePrincipals/{client['id']}").status_code == 204
    assert graph.get(f"/servicePrincipals/{client['id']}").status_code == 404
    assert graph.get(f"/servicePrincipals/{resource['id']}/appRoleAssignedTo").json()["value"] == []
    assert graph.delete(f"/servicePrincipals/{client['id']}").status_code == 404


def test_granting_needs_app_role_assignment_read_write_all(start_emulator: Any) -> None:
    apps = [{"client_id": "aaaaaaaa-0000-4000-8000-00000000000a", "secret": "s-a",
             "permissions": ["Application.ReadWrite.All"]},
            {"client_id": "bbbbbbbb-0000-4000-8000-00000000000b", "secret": "s-b",
             "permissions": ["Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All"]}]  # fmt: skip
    handle: EmulatorHandle = start_emulator(client_apps=apps)
    tenant = handle.server.config.tenant

    def as_app(app: dict[str, Any]) -> httpx.Client:
        token = httpx.post(f"{handle.base_url}/{tenant}/oauth2/v2.0/token", timeout=10, data={
            "grant_type": "client_credentials", "client_id": app["client_id"], "client_secret": app["secret"],
            "scope": "https://graph.microsoft.com/.default"}).json()["access_token"]  # fmt: skip
        return httpx.Client(base_url=handle.graph_url, headers={"Authorization": f"Bearer {token}"}, timeout=10)

    without, admin = as_app(apps[0]), as_app(apps[1])
    resource, client = _principals(without)  # Application.ReadWrite.All creates apps and service principals
    body = {"principalId": client["id"], "resourceId": resource["id"], "appRoleId": RECEIVE_PAYLOAD}
    refused = without.post(f"/servicePrincipals/{resource['id']}/appRoleAssignedTo", json=body)
    assert _error(refused)[:2] == (403, "Authorization_RequestDenied")
    assert admin.post(f"/servicePrincipals/{resource['id']}/appRoleAssignedTo", json=body).status_code == 201
