"""Admin consent as Graph records it: app role assignments granted on a resource service principal, and the
service principals `tenant apply` creates and prunes.

POST /servicePrincipals/{id}/appRoleAssignedTo   grant (graph docs v1.0 api/serviceprincipal-post-approleassignedto.md;
     (or /servicePrincipals(appId='…')/…)        concepts/permissions-grant-via-msgraph.md "grant application
                                                  permissions"): body principalId (a client service principal, user or
                                                  group), resourceId (the resource service principal, the one in the
                                                  path), appRoleId (one of the resource's appRoles allowing that
                                                  principal type); 201 with the appRoleAssignment (id, appRoleId,
                                                  createdDateTime, principalDisplayName, principalId, principalType,
                                                  resourceDisplayName, resourceId; resources/approleassignment.md)
GET  /servicePrincipals/{id}/appRoleAssignedTo   what the resource granted
GET  /servicePrincipals/{id}/appRoleAssignments  what the principal holds
                                                  (api/serviceprincipal-list-approleassignments.md)
DELETE /servicePrincipals/{id}                   api/serviceprincipal-delete.md; its grants go with it
Errors Graph answers but the doc pages don't list (observed, from Graph's issue trackers): a resourceId other
than the resource in the path, or a principalId that is no object of the tenant, is 400 Request_BadRequest
"Not a valid reference update." (microsoftgraph/microsoft-graph-docs-contrib#4628, msgraph-bicep-types#193); an
appRoleId the resource does not define for that principal type is 400 "Permission being assigned was not found on
application '<appId>'."; a second identical grant is 400 "Permission being assigned already exists on the object".
An unknown resource id is 404 Request_ResourceNotFound.
"""

from __future__ import annotations

from typing import Any

from emulator.app_roles import ALREADY_ASSIGNED, DEFAULT_ACCESS_ROLE, find_service_principal, new_assignment
from emulator.context import Reply, RequestContext
from emulator.core import EmulatedTenant
from emulator.errors import GraphError, bad_request, not_found

NOT_A_VALID_REFERENCE = "Not a valid reference update."


def _resource(tenant: EmulatedTenant, key: str) -> dict[str, Any]:
    found = find_service_principal(tenant, key)
    if found is None:
        raise not_found(key)
    return found


def _principal(tenant: EmulatedTenant, principal_id: str) -> tuple[str, str, str | None]:
    """(id, principalType, displayName) of a service principal, user or group of the tenant."""
    sp = find_service_principal(tenant, principal_id)
    if sp is not None:
        return str(sp["id"]), "ServicePrincipal", sp.get("displayName")
    user = tenant.state.lookup(principal_id)
    if user is not None:
        return user.id, "User", user.data.get("displayName")
    group = tenant.state.groups.get(principal_id)
    if group is not None:
        return str(group["id"]), "Group", group.get("displayName")
    raise GraphError(400, "Request_BadRequest", NOT_A_VALID_REFERENCE)


def grant(tenant: EmulatedTenant, ctx: RequestContext, resource: dict[str, Any]) -> Reply:
    body = ctx.body if isinstance(ctx.body, dict) else {}
    principal_id, resource_id, role_id = body.get("principalId"), body.get("resourceId"), body.get("appRoleId")
    for name, value in (("principalId", principal_id), ("resourceId", resource_id), ("appRoleId", role_id)):
        if not isinstance(value, str) or not value:
            raise bad_request(f"Property '{name}' is required.")
    if str(resource_id).lower() != str(resource["id"]).lower():
        raise GraphError(400, "Request_BadRequest", NOT_A_VALID_REFERENCE)
    pid, principal_type, principal_name = _principal(tenant, str(principal_id))
    member_type = "Application" if principal_type == "ServicePrincipal" else "User"
    defined = {
        str(r.get("id")).lower()
        for r in resource.get("appRoles") or []
        if r.get("isEnabled", True) and member_type in (r.get("allowedMemberTypes") or [])
    }
    wanted = str(role_id).lower()
    if wanted not in defined and not (wanted == DEFAULT_ACCESS_ROLE and principal_type != "ServicePrincipal"):
        raise bad_request(f"Permission being assigned was not found on application '{resource['appId']}'.")
    held = tenant.state.app_role_assignments.setdefault(pid, [])
    if any(a["resourceId"] == resource["id"] and a["appRoleId"].lower() == wanted for a in held):
        raise GraphError(400, "Request_BadRequest", ALREADY_ASSIGNED)
    assignment = new_assignment(role_id, pid, principal_name, principal_type, resource)
    held.append(assignment)
    tenant.state.dirty = True
    context = f"{ctx.base_url}/$metadata#servicePrincipals('{resource['id']}')/appRoleAssignedTo/$entity"
    return Reply(201, {"@odata.context": context, **assignment})


def granted_by(tenant: EmulatedTenant, ctx: RequestContext, resource: dict[str, Any]) -> Reply:
    everyone = tenant.state.app_role_assignments.values()
    value = [a for held in everyone for a in held if a["resourceId"] == resource["id"]]
    context = f"{ctx.base_url}/$metadata#servicePrincipals('{resource['id']}')/appRoleAssignedTo"
    return Reply(200, {"@odata.context": context, "value": value})


def held_by(tenant: EmulatedTenant, ctx: RequestContext, principal: dict[str, Any]) -> Reply:
    context = f"{ctx.base_url}/$metadata#servicePrincipals('{principal['id']}')/appRoleAssignments"
    value = list(tenant.state.app_role_assignments.get(principal["id"], []))
    return Reply(200, {"@odata.context": context, "value": value})


def delete_service_principal(tenant: EmulatedTenant, sp_id: str) -> Reply:
    if sp_id not in tenant.state.service_principals:
        raise not_found(sp_id)
    del tenant.state.service_principals[sp_id]
    tenant.state.app_role_assignments.pop(sp_id, None)
    for principal, held in tenant.state.app_role_assignments.items():
        tenant.state.app_role_assignments[principal] = [a for a in held if a["resourceId"] != sp_id]
    tenant.state.dirty = True
    return Reply(204)


def route_consent(tenant: EmulatedTenant, ctx: RequestContext, parts: list[str]) -> Reply | None:
    """The reply for one of this module's paths, or None when the path is not one of them."""
    head = parts[0] if parts else ""
    if head.startswith("servicePrincipals("):  # alternate key: servicePrincipals(appId='…')
        parts = ["servicePrincipals", head[len("servicePrincipals") :], *parts[1:]]
    elif head != "servicePrincipals":
        return None
    if len(parts) == 2 and ctx.method == "DELETE":
        key = parts[1]
        return delete_service_principal(tenant, str(_resource(tenant, key)["id"]))
    if len(parts) != 3:
        return None
    if parts[2] == "appRoleAssignedTo" and ctx.method == "POST":
        return grant(tenant, ctx, _resource(tenant, parts[1]))
    if parts[2] == "appRoleAssignedTo" and ctx.method == "GET":
        return granted_by(tenant, ctx, _resource(tenant, parts[1]))
    if parts[2] == "appRoleAssignments" and ctx.method == "GET":
        return held_by(tenant, ctx, _resource(tenant, parts[1]))
    return None
