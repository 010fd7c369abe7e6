"""What `ciam-migrate doctor` reads, and the permission each Graph call needs.

`GET /organization` (graph docs api/organization-list.md: id, displayName, tenantType — "CIAM" for an
external tenant, resources/organization.md); `GET /servicePrincipals?$filter=appId eq '…'` and
`GET /servicePrincipals/{id}/appRoleAssignments` (api/serviceprincipal-list-approleassignments.md:
appRoleId, resourceId, resourceDisplayName, principalId). Microsoft Graph's own service principal
(appId 00000003-0000-0000-c000-000000000000) lists its appRoles (id → permission name), so a client
resolves names the way it would in a real tenant.

With `client_apps` configured, every Graph call is checked against the calling app's permissions:
missing → 403 Authorization_RequestDenied, as Graph answers an app without the application permission
(a grant on /servicePrincipals/{id}/appRoleAssignedTo needs AppRoleAssignment.ReadWrite.All).
"""

from __future__ import annotations

import uuid
from typing import Any

from emulator.context import Reply, RequestContext
from emulator.core import EmulatedTenant
from emulator.errors import GraphError, bad_request

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GRAPH_SP_ID = "4d0c1a8e-5b6f-4e2d-9c3a-7f8e9d0a1b2c"
# Graph application permission ids (graph docs permissions-reference.md).
APP_ROLE_IDS = {
    "User.Read.All": "df021288-bdef-4463-88db-98f22de89214",
    "User.ReadWrite.All": "741f803b-c850-494e-b5df-cde7c675a1ca",
    "UserAuthenticationMethod.ReadWrite.All": "50483e42-d915-4231-9639-7fdb7fd190e5",
    "Application.Read.All": "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
    "Application.ReadWrite.OwnedBy": "18a4783c-866b-4cc7-a460-3d5e5662c884",
    "Application.ReadWrite.All": "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
    "AuditLog.Read.All": "b0afded3-3588-46d8-8b3d-9842eff778da",
    "CustomAuthenticationExtension.Receive.Payload": "214e810f-fda8-4fd7-a475-29461495eb00",
    "AppRoleAssignment.ReadWrite.All": "06b708a9-e830-4db3-a914-8e69da51d44f",
}
_USERS_READ = ("User.Read.All", "User.ReadWrite.All")
_APPS_READ = ("Application.Read.All", "Application.ReadWrite.OwnedBy", "Application.ReadWrite.All")
_APPS_WRITE = ("Application.ReadWrite.OwnedBy", "Application.ReadWrite.All")


def required_permissions(method: str, parts: list[str]) -> tuple[str, ...] | None:
    """Any one of these application permissions admits the call; None = no permission needed."""
    head = parts[0] if parts else ""
    if head == "users":
        if len(parts) >= 3 and parts[2] == "authentication":
            return ("UserAuthenticationMethod.ReadWrite.All",)
        return _USERS_READ if method == "GET" else ("User.ReadWrite.All",)
    if head.startswith("applications"):
        return _APPS_READ if method == "GET" else _APPS_WRITE
    if head == "auditLogs":
        return ("AuditLog.Read.All",)
    if head.startswith("servicePrincipals"):
        if method == "GET":
            return None  # an app reads its own service principal and its app role assignments
        if parts[-1] == "appRoleAssignedTo":  # api/serviceprincipal-post-approleassignedto.md
            return ("AppRoleAssignment.ReadWrite.All",)
        return _APPS_WRITE  # create / delete (api/serviceprincipal-post-serviceprincipals.md, -delete.md)
    return None


def authorize(tenant: EmulatedTenant, ctx: RequestContext, parts: list[str]) -> None:
    if not tenant.config.client_apps:
        return
    needed = required_permissions(ctx.method, parts)
    if needed is None:
        return
    granted = _granted(tenant, ctx.app_id)
    if not any(p in granted for p in needed):
        raise GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")


def _granted(tenant: EmulatedTenant, app_id: str) -> tuple[str, ...]:
    for app in tenant.config.client_apps:
        if app.client_id.lower() == app_id.lower():
            return app.permissions
    return ()


def _sp_id(app_id: str) -> str:
    return GRAPH_SP_ID if app_id == GRAPH_APP_ID else str(uuid.uuid5(uuid.NAMESPACE_URL, f"sp:{app_id}"))


def _graph_sp() -> dict[str, Any]:
    roles = [{"id": rid, "value": name, "allowedMemberTypes": ["Application"], "isEnabled": True}
             for name, rid in APP_ROLE_IDS.items()]  # fmt: skip
    return {"id": GRAPH_SP_ID, "appId": GRAPH_APP_ID, "displayName": "Microsoft Graph", "appRoles": roles}


def _client_sps(tenant: EmulatedTenant) -> list[dict[str, Any]]:
    return [{"id": _sp_id(a.client_id), "appId": a.client_id, "displayName": f"migration app {a.client_id[:8]}",
             "appRoles": []} for a in tenant.config.client_apps]  # fmt: skip


def all_service_principals(tenant: EmulatedTenant) -> list[dict[str, Any]]:
    """The Graph and migration-app principals, then those created with POST /servicePrincipals (app_roles.py),
    whose appRoles are their application's (an app role added later reaches its service principal)."""
    apps = {a["appId"].lower(): a for a in tenant.state.applications.values()}
    made = [
        {**sp, "appRoles": list((apps.get(sp["appId"].lower()) or sp).get("appRoles") or [])}
        for sp in tenant.state.service_principals.values()
    ]
    return [_graph_sp(), *_client_sps(tenant), *made]


def list_service_principals(tenant: EmulatedTenant, ctx: RequestContext) -> Reply:
    principals = all_service_principals(tenant)
    expression = ctx.query.get("filter")
    if expression:
        name, _, value = expression.partition(" eq ")
        if name.strip() not in ("appId", "displayName") or not value.strip().startswith("'"):
            raise bad_request("Unsupported filter on servicePrincipals; use appId or displayName eq '<value>'.")
        wanted = value.strip()[1:-1].replace("''", "'").casefold()
        principals = [p for p in principals if str(p[name.strip()]).casefold() == wanted]
    return Reply(200, {"@odata.context": f"{ctx.base_url}/$metadata#servicePrincipals", "value": principals})


def list_app_role_assignments(tenant: EmulatedTenant, ctx: RequestContext, sp_id: str) -> Reply | None:
    """A migration app's permissions from the emulator's config; None for other principals (app_consent.py)."""
    app = next((a for a in tenant.config.client_apps if _sp_id(a.client_id) == sp_id), None)
    if app is None:
        return None
    assignments = [
        {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"ara:{sp_id}:{name}")), "appRoleId": APP_ROLE_IDS[name],
         "principalId": sp_id, "principalType": "ServicePrincipal", "resourceId": GRAPH_SP_ID,
         "resourceDisplayName": "Microsoft Graph"}
        for name in app.permissions if name in APP_ROLE_IDS
    ]  # fmt: skip
    context = f"{ctx.base_url}/$metadata#servicePrincipals('{sp_id}')/appRoleAssignments"
    return Reply(200, {"@odata.context": context, "value": assignments})


def list_organization(tenant: EmulatedTenant, ctx: RequestContext) -> Reply:
    config = tenant.config
    org = {
        "id": config.tenant_id, "displayName": config.tenant.split(".")[0], "tenantType": config.tenant_type,
        "verifiedDomains": [{"name": config.tenant, "isInitial": True, "isDefault": True}],
        # beta-only in Graph (directorySizeQuota); the emulator answers it on v1.0 so doctor can show headroom.
        "directorySizeQuota": {"used": tenant.state.object_count, "total": config.quotas.object_quota},
    }  # fmt: skip
    return Reply(200, {"@odata.context": f"{ctx.base_url}/$metadata#organization", "value": [org]})


def route_directory_info(tenant: EmulatedTenant, ctx: RequestContext, parts: list[str]) -> Reply | None:
    """The reply for an organization / servicePrincipals path, or None when the path is not one of them."""
    if parts == ["organization"] and ctx.method == "GET":
        return list_organization(tenant, ctx)
    if parts == ["servicePrincipals"] and ctx.method == "GET":
        return list_service_principals(tenant, ctx)
    is_assignments = len(parts) == 3 and parts[0] == "servicePrincipals" and parts[2] == "appRoleAssignments"
    if is_assignments and ctx.method == "GET":
        return list_app_role_assignments(tenant, ctx, parts[1])
    return None
