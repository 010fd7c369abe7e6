"""Tenant readiness: what `ciam-migrate doctor` shows, and what `run` checks before it writes anything.

In: a GraphDirectory (its lanes' credentials and clients) and Settings. Out: a list of `Check`s, each
ok or not, with a one-line `fix` naming the exact permission, command or setting. Read-only: nothing
is written to the tenant. Checks: a token for each app (and one app id per lane), each app's Graph
application permissions (appRoleAssignments on its service principal, else the token's `roles`), the
b2c-extensions-app and the migration flag property, the tenant is an external tenant (organization
tenantType "CIAM"), object-quota headroom. Reads are JSON (json_calls: no SDK model import before a run's
first write). Sources: graph docs permissions-reference.md,
api/serviceprincipal-list-approleassignments.md, resources/organization.md.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import quote

from kiota_abstractions.api_error import APIError
from msgraph.graph_service_client import GraphServiceClient

from shared.adapters.graph.directory import AppLane, GraphDirectory
from shared.adapters.graph.errors import GraphAccessDenied
from shared.adapters.graph.json_calls import get_json, values
from shared.config import Settings
from shared.credentials import CredentialConfigError, token_app_id, token_roles

logger = logging.getLogger(__name__)
T = TypeVar("T")

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
WRITE_USERS = ("User.ReadWrite.All",)
WRITE_METHODS = ("UserAuthenticationMethod.ReadWrite.All",)
WRITE_EXTENSIONS = ("Application.ReadWrite.OwnedBy", "Application.ReadWrite.All")
READ_SIGN_INS = ("AuditLog.Read.All",)
EXTERNAL_TENANT_TYPE = "CIAM"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str | None = None
    warning: bool = False  # shown, but does not stop a run


def _consent_fix(app_id: str, permission: str) -> str:
    return (
        f"grant Microsoft Graph application permission {permission} to app {app_id} and grant admin consent "
        f"(Entra admin center → App registrations → {app_id} → API permissions → Add a permission → "
        "Microsoft Graph → Application permissions; then 'Grant admin consent')"
    )


def _token_fix(lane: AppLane, settings: Settings, reason: str) -> str:
    tenant = settings.TENANT_ID or settings.TENANT
    if "AADSTS90002" in reason or "AADSTS900023" in reason:
        return f"--tenant {tenant} is not a tenant Entra knows: pass the external tenant's id or domain"
    if "AADSTS7000215" in reason:
        return f"the client secret of app {lane.app_id} is wrong or expired: create a new one and put it in the env var"
    if "AADSTS700016" in reason:
        return (
            f"app {lane.app_id} is not registered in tenant {tenant}: register it there (not in the workforce tenant)"
        )
    if "AADSTS700027" in reason or "AADSTS70021" in reason:
        return f"upload this certificate (or add this federated credential) to app {lane.app_id} in tenant {tenant}"
    return (
        f"sign in to the external tenant (az login --tenant {tenant} --allow-no-subscriptions) or use --app ID:cert=…"
    )


READ_ATTEMPTS = 4


async def _read(call: Callable[[], Awaitable[T]]) -> tuple[T | None, int | None]:
    """A readiness GET. Reads are idempotent, so a 429 or 5xx (transient) is tried again before it counts."""
    status = 0
    for attempt in range(READ_ATTEMPTS):
        try:
            return await call(), None
        except APIError as exc:
            status = exc.response_status_code or 0
            if status != 429 and status < 500:
                break
            await asyncio.sleep(0.2 * 2**attempt)
    return None, status


async def _granted_by_assignments(client: GraphServiceClient, app_id: str) -> set[str] | None:
    """Names of the Graph application permissions assigned to the app's service principal; None if unreadable."""

    def by_app_id(wanted: str) -> dict[str, str]:
        return {"$filter": f"appId eq '{wanted}'", "$select": "id,appId,appRoles"}

    own_page, status = await _read(lambda: get_json(client, "servicePrincipals", by_app_id(app_id)))
    graph_page, _ = await _read(lambda: get_json(client, "servicePrincipals", by_app_id(GRAPH_APP_ID)))
    own, graph = values(own_page), values(graph_page)
    if status or not own or not own[0].get("id") or not graph:
        return None
    app_roles = graph[0].get("appRoles") or []
    roles = {str(r["id"]): str(r["value"]) for r in app_roles if isinstance(r, dict) and r.get("id") and r.get("value")}
    assignments, status = await _read(
        lambda: get_json(client, f"servicePrincipals/{quote(str(own[0]['id']))}/appRoleAssignments")
    )
    if status or assignments is None:
        return None
    return {roles[str(a.get("appRoleId"))] for a in values(assignments) if str(a.get("appRoleId")) in roles}


async def check_lane(lane: AppLane, settings: Settings, needs: dict[str, tuple[str, ...]]) -> list[Check]:
    checks: list[Check] = []
    if lane.credential is None:
        return checks
    try:
        token = await lane.credential.get_token(lane.scope)
    except Exception as exc:  # azure-identity raises ClientAuthenticationError / CredentialUnavailableError
        reason = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        return [Check(f"token for app {lane.app_id}", False, reason, _token_fix(lane, settings, reason))]
    actual = token_app_id(token.token) or "unknown"
    checks.append(Check(f"token for app {lane.app_id}", True, f"signed in as app {actual}"))
    _, status = await _read(lambda: get_json(lane.client, "organization", {"$select": "id"}))
    if status in (401, 403):
        fix = str(GraphAccessDenied(lane.app_id, status)).split(": ", 1)[1]
        return [*checks, Check(f"Graph accepts app {lane.app_id}", False, f"HTTP {status}", fix)]
    granted = await _granted_by_assignments(lane.client, actual)
    source = "appRoleAssignments"
    if granted is None:
        granted, source = set(token_roles(token.token) or []), "token roles"
    for purpose, any_of in needs.items():
        have = [p for p in any_of if p in granted]
        name = f"app {lane.app_id}: {' or '.join(any_of)} ({purpose})"
        if have:
            checks.append(Check(name, True, f"granted ({source})"))
        else:
            checks.append(Check(name, False, f"not granted ({source})", _consent_fix(lane.app_id, any_of[0])))
    return checks


async def check_tenant(
    directory: GraphDirectory, settings: Settings, *, imports_mfa: bool = False, reads_sign_ins: bool = False
) -> list[Check]:
    needs: dict[str, tuple[str, ...]] = {"create users": WRITE_USERS, "extension properties": WRITE_EXTENSIONS}
    if imports_mfa:
        needs["MFA methods"] = WRITE_METHODS
    if reads_sign_ins:
        needs["sign-in logs"] = READ_SIGN_INS
    checks: list[Check] = []
    for lane in directory.lanes:
        checks += await check_lane(lane, settings, needs)
    if not all(c.ok for c in checks):
        return checks  # without a working token the tenant cannot be read
    from shared.adapters.graph.lanes import verify_lanes

    try:
        signed_in = await verify_lanes(directory)
        checks.append(Check("one app id per lane", True, ", ".join(sorted(set(signed_in.values()))) or "—"))
    except CredentialConfigError as exc:
        checks.append(Check("one app id per lane", False, str(exc), "give each --app its own app registration"))
    client = directory.lanes[0].client
    checks.append(await _check_organization(client, settings))
    checks += await _check_extensions(client, settings)
    return checks


async def _check_organization(client: GraphServiceClient, settings: Settings) -> Check:
    orgs, status = await _read(lambda: get_json(client, "organization"))
    if status or not values(orgs):
        return Check("external tenant", False, f"cannot read the organization (HTTP {status})",
                     "grant admin consent for the app's permissions, then run doctor again")  # fmt: skip
    org = values(orgs)[0]
    kind = org.get("tenantType") or "unknown"
    if kind != EXTERNAL_TENANT_TYPE:
        fix = f"--tenant must be an Entra External ID (external) tenant, tenantType {EXTERNAL_TENANT_TYPE}"
        return Check("external tenant", False, f"tenant {org.get('id')} has tenantType {kind}", fix)
    quota = org.get("directorySizeQuota")
    detail = f"tenant {org.get('id')} ({kind})"
    if isinstance(quota, dict) and quota.get("total"):
        used, total = int(quota.get("used") or 0), int(quota["total"])
        detail += f"; objects {used:,} of {total:,} ({total - used:,} free)"
        if used >= total:
            return Check("external tenant", False, detail, "raise the tenant's object quota (support request) first")
    return Check("external tenant", True, detail)


async def _check_extensions(client: GraphServiceClient, settings: Settings) -> list[Check]:
    app_id = settings.EXTENSIONS_APP_ID
    if not app_id:
        fix = "pass --extensions-app-id (the appId of 'b2c-extensions-app' in the external tenant)"
        return [Check("b2c-extensions-app", False, "not configured", fix)]
    query = {"$filter": f"appId eq '{app_id}'", "$select": "id,appId,displayName"}
    page, status = await _read(lambda: get_json(client, "applications", query))
    apps = values(page)
    if status or not apps or not apps[0].get("id"):
        detail = f"HTTP {status}" if status else f"no application with appId {app_id}"
        return [Check("b2c-extensions-app", False, detail,
                      "pass the appId of the tenant's 'b2c-extensions-app' as --extensions-app-id")]  # fmt: skip
    checks = [Check("b2c-extensions-app", True, f"{apps[0].get('displayName') or app_id}")]
    props, status = await _read(
        lambda: get_json(client, f"applications/{quote(str(apps[0]['id']))}/extensionProperties")
    )
    flag = f"extension_{app_id.replace('-', '')}_{settings.MIGRATION_FLAG_ATTRIBUTE}"
    names = {p.get("name") for p in values(props)}
    if flag in names:
        checks.append(Check("migration flag property", True, flag))
    else:
        checks.append(Check("migration flag property", True, f"{flag} not registered yet: the first run registers it",
                            warning=True))  # fmt: skip
    return checks


def failures(checks: list[Check]) -> list[Check]:
    return [c for c in checks if not c.ok]
