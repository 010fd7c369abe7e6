"""`/servicePrincipals` (create from an application, list by appId or displayName, alternate key appId) and
`/users/{id}/appRoleAssignments` (grant, list).

Sources (microsoftgraph/microsoft-graph-docs-contrib, api-reference/v1.0):
api/serviceprincipal-post-serviceprincipals.md (`appId` required; the service principal carries the
application's `appRoles`), api/serviceprincipal-list.md (the list itself is directory_info's),
api/serviceprincipal-get.md (`/servicePrincipals(appId='…')`), api/user-post-approleassignments.md (body
`principalId`, `resourceId` — the resource service principal's id — and `appRoleId`; 201 with the
appRoleAssignment: id, appRoleId, createdDateTime, principalDisplayName, principalId, principalType "User",
resourceDisplayName, resourceId), api/user-list-approleassignments.md, resources/approleassignment.md (the
zero GUID is the default access role). Observed Graph answers, not on the doc pages: a second service
principal for one appId is 409 Request_MultipleObjectsWithSameKeyValue; an appRoleId the resource doesn't
define is 400 "Permission being assigned was not found on application …"; a duplicate assignment is 400
Request_BadRequest "Permission being assigned already exists on the object".
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from emulator.context import Reply, RequestContext
from emulator.core import EmulatedTenant
from emulator.directory_info import all_service_principals
from emulator.errors import GraphError, bad_request, not_found
from emulator.state import utc_now_iso

DEFAULT_ACCESS_ROLE = "00000000-0000-0000-0000-000000000000"
ALREADY_ASSIGNED = "Permission being assigned already exists on the object"
_APP_ID_KEY = re.compile(r"^\(appId='((?:[^']|'')*)'\)$")


def _entity(ctx: RequestContext, sp: dict[str, Any]) -> dict[str, Any]:
    return {"@odata.context": f"{ctx.base_url}/$metadata#servicePrincipals/$entity", **sp}


def create_service_principal(tenant: EmulatedTenant, ctx: RequestContext) -> Reply:
    body = ctx.body if isinstance(ctx.body, dict) else {}
    app_id = body.get("appId")
    if not isinstance(app_id, str) or not app_id:
        raise bad_request("Property 'appId' is required.")
    app = next((a for a in tenant.state.applications.values() if a["appId"].lower() == app_id.lower()), None)
    if app is None:
        raise bad_request(
            f"The appId '{app_id}' of the service principal does not reference a valid application object."
        )
    if any(sp["appId"].lower() == app_id.lower() for sp in tenant.state.service_principals.values()):
        raise GraphError(
            409,
            "Request_MultipleObjectsWithSameKeyValue",
            f"The service principal cannot be created, updated, or restored because the service principal name "
            f"{app_id} is already in use.",
        )
    sp = {
        "id": str(uuid.uuid4()),
        "appId": app["appId"],
        "displayName": app["displayName"],
        "appRoles": list(app.get("appRoles") or []),
        "servicePrincipalType": "Application",
        "tags": list(body.get("tags") or []),
        "createdDateTime": utc_now_iso(),
    }
    tenant.state.service_principals[sp["id"]] = sp
    tenant.state.dirty = True
    return Reply(201, _entity(ctx, sp), {"Location": f"{ctx.base_url}/servicePrincipals/{sp['id']}"})


def find_service_principal(tenant: EmulatedTenant, key: str) -> dict[str, Any] | None:
    """A service principal by id or by the alternate key `(appId='…')`, Microsoft Graph's own included."""
    match = _APP_ID_KEY.match(key)
    app_id = match.group(1).replace("''", "'").lower() if match is not None else None
    for sp in all_service_principals(tenant):
        if (app_id is not None and sp["appId"].lower() == app_id) or sp["id"] == key:
            return sp
    return None


def _find_service_principal(tenant: EmulatedTenant, key: str) -> dict[str, Any]:
    found = find_service_principal(tenant, key)
    if found is None:
        raise not_found(key)
    return found


def grant_to_user(tenant: EmulatedTenant, ctx: RequestContext, user_key: str) -> Reply:
    user = tenant.state.lookup(user_key)
    if user is None:
        raise not_found(user_key)
    body = ctx.body if isinstance(ctx.body, dict) else {}
    principal_id, resource_id, role_id = body.get("principalId"), body.get("resourceId"), body.get("appRoleId")
    for name, value in (("principalId", principal_id), ("resourceId", resource_id), ("appRoleId", role_id)):
        if not isinstance(value, str) or not value:
            raise bad_request(f"Property '{name}' is required.")
    if str(principal_id).lower() != user.id.lower():
        raise bad_request("The principalId must be the id of the user the assignment is created for.")
    sp = find_service_principal(tenant, str(resource_id))
    if sp is None:
        raise not_found(str(resource_id))
    role_ids = {str(r.get("id")).lower() for r in sp.get("appRoles") or [] if r.get("isEnabled", True)}
    if str(role_id).lower() != DEFAULT_ACCESS_ROLE and str(role_id).lower() not in role_ids:
        raise bad_request(f"Permission being assigned was not found on application '{sp['appId']}'.")
    assignments = tenant.state.app_role_assignments.setdefault(user.id, [])
    if any(a["resourceId"] == sp["id"] and a["appRoleId"].lower() == str(role_id).lower() for a in assignments):
        raise GraphError(400, "Request_BadRequest", ALREADY_ASSIGNED)
    assignment = new_assignment(role_id, user.id, user.data.get("displayName"), "User", sp)
    assignments.append(assignment)
    tenant.state.dirty = True
    context = f"{ctx.base_url}/$metadata#users('{user.id}')/appRoleAssignments/$entity"
    return Reply(201, {"@odata.context": context, **assignment})


def list_for_user(tenant: EmulatedTenant, ctx: RequestContext, user_key: str) -> Reply:
    user = tenant.state.lookup(user_key)
    if user is None:
        raise not_found(user_key)
    context = f"{ctx.base_url}/$metadata#users('{user.id}')/appRoleAssignments"
    return Reply(200, {"@odata.context": context, "value": list(tenant.state.app_role_assignments.get(user.id, []))})


def route_service_principals(tenant: EmulatedTenant, ctx: RequestContext, parts: list[str]) -> Reply | None:
    head, method = parts[0], ctx.method
    if head == "servicePrincipals" and len(parts) == 1:  # GET (the list) is directory_info's
        if method == "POST":
            return create_service_principal(tenant, ctx)
        raise _not_allowed()
    if head.startswith("servicePrincipals(") and len(parts) == 1 and method == "GET":
        return Reply(200, _entity(ctx, _find_service_principal(tenant, head[len("servicePrincipals") :])))
    if head == "servicePrincipals" and len(parts) == 2 and method == "GET":
        return Reply(200, _entity(ctx, _find_service_principal(tenant, parts[1])))
    if head.startswith("servicePrincipals"):
        raise _not_allowed()
    return None


def route_user_assignments(tenant: EmulatedTenant, ctx: RequestContext, parts: list[str]) -> Reply | None:
    if len(parts) != 3 or parts[0] != "users" or parts[2] != "appRoleAssignments":
        return None
    if ctx.method == "POST":
        return grant_to_user(tenant, ctx, parts[1])
    if ctx.method == "GET":
        return list_for_user(tenant, ctx, parts[1])
    raise _not_allowed()


def _not_allowed() -> GraphError:
    return GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")


def new_assignment(
    role_id: Any, principal_id: str, principal_name: Any, principal_type: str, resource: dict[str, Any]
) -> dict[str, Any]:
    """An appRoleAssignment as Graph answers it (resources/approleassignment.md), held by the principal."""
    return {
        "id": uuid.uuid4().hex + uuid.uuid4().hex[:11],
        "deletedDateTime": None,
        "appRoleId": role_id,
        "createdDateTime": utc_now_iso(),
        "principalDisplayName": principal_name,
        "principalId": principal_id,
        "principalType": principal_type,
        "resourceDisplayName": resource.get("displayName"),
        "resourceId": resource["id"],
    }
