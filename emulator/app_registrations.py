"""The app registration properties `tenant apply` declares, validated as Graph documents them (graph docs v1.0
resources/application.md, webapplication.md, spaapplication.md, publicclientapplication.md, approle.md,
requiredresourceaccess.md): tags (strings), description, notes, signInAudience, web / spa / publicClient
redirectUris (web and spa: https, or http on localhost; at most 256 each), appRoles (id a GUID, value unique
and without spaces, allowedMemberTypes User / Application), requiredResourceAccess. Plus DELETE of an app
and the `key` of its keyCredentials on `GET /applications/{id}?$select=keyCredentials` (keycredential.md:
"returned only on $select for a single object").
"""

from __future__ import annotations

import base64
import uuid
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.serialization import Encoding

from emulator.context import Reply, RequestContext
from emulator.core import EmulatedTenant
from emulator.errors import bad_request

_AUDIENCES = ("AzureADMyOrg", "AzureADMultipleOrgs", "AzureADandPersonalMicrosoftAccount", "PersonalMicrosoftAccount")
MAX_REDIRECT_URIS = 256


def _redirect_ok(uri: Any, *, native: bool) -> bool:
    if not isinstance(uri, str) or not uri:
        return False
    parts = urlsplit(uri)
    if native:
        return bool(parts.scheme)
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1"))


def _uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _roles(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise bad_request("Property appRoles must be a collection.")
    seen: set[str] = set()
    for role in value:
        if not isinstance(role, dict) or not _uuid(role.get("id")):
            raise bad_request("Each appRole needs an id that is a GUID.")
        role_value = role.get("value")
        if not isinstance(role_value, str) or not role_value or " " in role_value or role_value in seen:
            raise bad_request("appRole values must be unique, non-empty and contain no spaces.")
        seen.add(role_value)
        members = role.get("allowedMemberTypes")
        if not isinstance(members, list) or not members or not set(members) <= {"User", "Application"}:
            raise bad_request("appRole allowedMemberTypes must be User and/or Application.")
        if not isinstance(role.get("displayName"), str) or not role["displayName"]:
            raise bad_request("appRole displayName is required.")
    return [{"origin": "Application", "isEnabled": True, "description": None, **r} for r in value]


def apply_registration_fields(app: dict[str, Any], body: dict[str, Any]) -> None:
    """Validate every registration field of `body` before changing `app`."""
    staged: dict[str, Any] = {}
    if "tags" in body:
        tags = body["tags"]
        if not isinstance(tags, list) or not all(isinstance(t, str) and 0 < len(t) <= 256 for t in tags):
            raise bad_request("Property tags must be a collection of strings.")
        staged["tags"] = list(tags)
    for key in ("description", "notes"):
        if key in body:
            if body[key] is not None and not isinstance(body[key], str):
                raise bad_request(f"Property {key} must be a string.")
            staged[key] = body[key]
    if "signInAudience" in body:
        if body["signInAudience"] not in _AUDIENCES:
            raise bad_request("Property signInAudience has an invalid value.")
        staged["signInAudience"] = body["signInAudience"]
    for key in ("web", "spa", "publicClient"):
        if key in body:
            section = body[key] or {}
            uris = section.get("redirectUris", []) if isinstance(section, dict) else None
            if not isinstance(uris, list) or len(uris) > MAX_REDIRECT_URIS:
                raise bad_request(f"Property {key}.redirectUris must be a collection of at most 256 URIs.")
            if not all(_redirect_ok(u, native=key == "publicClient") for u in uris):
                raise bad_request(f"{key}.redirectUris: a redirect URI must use https (http only on localhost).")
            staged[key] = {**(app.get(key) or {}), "redirectUris": list(uris)}
    if "appRoles" in body:
        staged["appRoles"] = _roles(body["appRoles"])
    if "requiredResourceAccess" in body:
        access = body["requiredResourceAccess"]
        ok = isinstance(access, list) and all(
            isinstance(r, dict)
            and _uuid(r.get("resourceAppId"))
            and isinstance(r.get("resourceAccess"), list)
            and all(
                isinstance(a, dict) and _uuid(a.get("id")) and a.get("type") in ("Role", "Scope")
                for a in r["resourceAccess"]
            )
            for r in access
        )
        if not ok:
            raise bad_request("Property requiredResourceAccess is invalid.")
        staged["requiredResourceAccess"] = access
    app.update(staged)


def new_registration_defaults() -> dict[str, Any]:
    return {
        "tags": [],
        "description": None,
        "notes": None,
        "web": {"redirectUris": []},
        "spa": {"redirectUris": []},
        "publicClient": {"redirectUris": []},
        "appRoles": [],
        "requiredResourceAccess": [],
    }


def get_with_keys(tenant: EmulatedTenant, ctx: RequestContext, app: dict[str, Any]) -> Reply:
    """`$select=…keyCredentials…` on one application: the certificates' `key` is filled in."""
    wanted = [s.strip() for s in ctx.query.get("select", "").split(",") if s.strip()]
    view = {k: app.get(k) for k in wanted} if wanted else dict(app)
    if "keyCredentials" in view:
        registry = tenant.callouts.certificates
        view["keyCredentials"] = [
            {
                **c,
                "key": base64.b64encode(registry[(app["id"], c["keyId"])].public_bytes(Encoding.DER)).decode()
                if (app["id"], c["keyId"]) in registry
                else None,
            }
            for c in app.get("keyCredentials") or []
        ]
    return Reply(200, {"@odata.context": f"{ctx.base_url}/$metadata#applications/$entity", **view})


def delete_application(tenant: EmulatedTenant, app: dict[str, Any]) -> Reply:
    if app["id"] == tenant.state.extensions_app_object_id:
        raise bad_request("The b2c-extensions-app cannot be deleted (it holds the tenant's extension properties).")
    del tenant.state.applications[app["id"]]
    for stale in [k for k in tenant.callouts.certificates if k[0] == app["id"]]:
        del tenant.callouts.certificates[stale]
    tenant.state.dirty = True
    return Reply(204)
