"""Service principals for the apps `tenant apply` registers, and admin consent for the JIT extension app.

An application permission is granted as an app role assignment of the resource's service principal
(graph docs concepts/permissions-grant-via-msgraph.md, "grant application permissions";
api/serviceprincipal-post-approleassignedto.md): POST /servicePrincipals/{Microsoft Graph's sp id}/appRoleAssignedTo
with principalId = the extension app's service principal, resourceId = Graph's, appRoleId = the id of
CustomAuthenticationExtension.Receive.Payload (permissions-reference.md). Not an oauth2PermissionGrant: those
hold delegated permissions. entra-docs how-to-migrate-users-jit.md asks for exactly this grant ("Grant admin
consent"). Idempotent: read first (the service principal by appId, its appRoleAssignments), write only what is
missing, so a second apply sends no write.
"""

from __future__ import annotations

from typing import Any

from shared.tenant import desired as d
from shared.tenant.graph import TenantGraph

SP_LABEL = "service principal"
CONSENT_LABEL = "admin consent"
CONSENT_NAME = f"{d.JIT_APP_KEY}: Microsoft Graph CustomAuthenticationExtension.Receive.Payload"
PLANNED = "<new>"


class ConsentError(ValueError):
    """The tenant cannot take the grant (no Microsoft Graph service principal): the message says what to do."""


class ServicePrincipals:
    """Mixed into the Reconciler: `graph`, `apply` and `_note` are the Reconciler's."""

    graph: TenantGraph
    apply: bool

    def _note(self, kind: str, name: str, action: Any, fields: tuple[str, ...] = ()) -> None:
        raise NotImplementedError

    async def _service_principal(self, key: str, app: dict[str, Any]) -> dict[str, Any]:
        """The app's service principal, created when missing (tagged like the app). {"id": PLANNED} in a plan."""
        app_id = app.get("appId")
        found = await self.graph.service_principal(str(app_id)) if app_id else None
        self._note(SP_LABEL, key, "unchanged" if found is not None else "create")
        if found is not None:
            return found
        if not self.apply or not app_id:
            return {"id": PLANNED}
        return await self.graph.create_service_principal(str(app_id), d.app_tags(key))

    async def _admin_consent(self, principal: dict[str, Any]) -> None:
        """Grant the JIT extension app Graph's CustomAuthenticationExtension.Receive.Payload, once."""
        if principal["id"] == PLANNED:
            self._note(CONSENT_LABEL, CONSENT_NAME, "create")
            return
        graph_sp = await self.graph.service_principal(d.GRAPH_APP_ID)
        if graph_sp is None:
            raise ConsentError(
                "the tenant has no service principal for Microsoft Graph (appId "
                f"{d.GRAPH_APP_ID}); grant admin consent to the JIT extension app in the admin center, or set "
                "jit.admin_consent = false"
            )
        granted = holds_receive_payload(await self.graph.app_role_assignments(principal["id"]), graph_sp["id"])
        self._note(CONSENT_LABEL, CONSENT_NAME, "unchanged" if granted else "create")
        if not granted and self.apply:
            await self.graph.grant_app_role(graph_sp["id"], principal["id"], d.RECEIVE_PAYLOAD_ROLE)


async def consent_granted(graph: TenantGraph, app_id: str) -> bool:
    """Does the app's service principal hold Receive.Payload on Microsoft Graph? (for `tenant export`)"""
    principal = await graph.service_principal(app_id)
    graph_sp = await graph.service_principal(d.GRAPH_APP_ID)
    if principal is None or graph_sp is None:
        return False
    return holds_receive_payload(await graph.app_role_assignments(principal["id"]), graph_sp["id"])


def holds_receive_payload(assignments: list[dict[str, Any]], graph_sp_id: str) -> bool:
    return any(
        str(a.get("resourceId")) == graph_sp_id and str(a.get("appRoleId")) == d.RECEIVE_PAYLOAD_ROLE
        for a in assignments
    )
