"""What a tenant admin configures for just-in-time migration, through Graph (v1.0 and /beta paths alike):

POST/GET /identity/customAuthenticationExtensions   onPasswordSubmitCustomExtension (targetUrl, resourceId,
                                                    clientConfiguration timeoutInMilliseconds / maximumRetries)
POST/GET /identity/authenticationEventListeners     onPasswordSubmitListener (includeApplications, handler with
                                                    migrationPropertyId and customExtension.id)
PATCH {id} of both (…-update.md: the merged object passes the create rules)
POST /applications, PATCH /applications/{id}        the extension app: identifierUris, keyCredentials
                                                    (AsymmetricX509Cert, usage Encrypt) and tokenEncryptionKeyId

Shapes follow Microsoft's JIT migration guide (entra-docs external-id/customers/how-to-migrate-users-jit.md).
Certificates are kept beside the app (reads return `key: null`, as Graph does) and are not persisted.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509

from emulator.app_registrations import apply_registration_fields, new_registration_defaults
from emulator.context import Reply, RequestContext
from emulator.core import EmulatedTenant
from emulator.errors import bad_request, not_found
from emulator.state import utc_now_iso

EXTENSION_TYPE = "#microsoft.graph.onPasswordSubmitCustomExtension"
LISTENER_TYPE = "#microsoft.graph.onPasswordSubmitListener"
HANDLER_TYPE = "#microsoft.graph.onPasswordMigrationCustomExtensionHandler"
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def _target_url_ok(url: Any) -> bool:
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK)


def _checked_extension(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or body.get("@odata.type") != EXTENSION_TYPE:
        raise bad_request(f"Only {EXTENSION_TYPE} is supported by the emulator.")
    endpoint = body.get("endpointConfiguration") or {}
    if not _target_url_ok(endpoint.get("targetUrl")):
        raise bad_request("endpointConfiguration.targetUrl must be an https URL.")
    auth = body.get("authenticationConfiguration") or {}
    if not isinstance(auth.get("resourceId"), str) or not auth["resourceId"]:
        raise bad_request("authenticationConfiguration.resourceId is required.")
    client = body.get("clientConfiguration") or {}
    timeout = client.get("timeoutInMilliseconds", 1000)
    retries = client.get("maximumRetries", 1)
    if not isinstance(timeout, int) or not 200 <= timeout <= 2000:
        raise bad_request("clientConfiguration.timeoutInMilliseconds must be between 200 and 2000.")
    if not isinstance(retries, int) or not 0 <= retries <= 1:
        raise bad_request("clientConfiguration.maximumRetries must be 0 or 1.")
    return {**body, "clientConfiguration": {"timeoutInMilliseconds": timeout, "maximumRetries": retries}}


def create_extension(tenant: EmulatedTenant, ctx: RequestContext) -> Reply:
    item = {**_checked_extension(ctx.body), "id": str(uuid.uuid4())}
    tenant.callouts.extensions[item["id"]] = item
    return Reply(
        201, {"@odata.context": f"{ctx.base_url}/$metadata#identity/customAuthenticationExtensions/$entity", **item}
    )


def _check_listener(tenant: EmulatedTenant, body: Any) -> None:
    if not isinstance(body, dict) or body.get("@odata.type") != LISTENER_TYPE:
        raise bad_request(f"Only {LISTENER_TYPE} is supported by the emulator.")
    handler = body.get("handler") or {}
    if handler.get("@odata.type") != HANDLER_TYPE:
        raise bad_request(f"handler must be {HANDLER_TYPE}.")
    extension_id = (handler.get("customExtension") or {}).get("id")
    if extension_id not in tenant.callouts.extensions:
        raise bad_request("handler.customExtension.id names no custom authentication extension.")
    prop = tenant.state.extension_properties.get(str(handler.get("migrationPropertyId")))
    if prop is None or prop.data_type != "Boolean" or "User" not in prop.target_objects:
        raise bad_request("handler.migrationPropertyId must name a Boolean user extension property.")


def create_listener(tenant: EmulatedTenant, ctx: RequestContext) -> Reply:
    _check_listener(tenant, ctx.body)
    item = {**ctx.body, "id": str(uuid.uuid4())}
    tenant.callouts.listeners[item["id"]] = item
    return Reply(
        201, {"@odata.context": f"{ctx.base_url}/$metadata#identity/authenticationEventListeners/$entity", **item}
    )


def update_item(tenant: EmulatedTenant, ctx: RequestContext, items: dict[str, dict[str, Any]], key: str) -> Reply:
    """PATCH of an extension or listener (graph docs beta customauthenticationextension-update.md,
    authenticationeventlistener-update.md): the merged object must pass the create rules."""
    item = items.get(key)
    if item is None:
        raise not_found(key)
    if not isinstance(ctx.body, dict):
        raise bad_request("The request body must be a JSON object.")
    merged = {**item, **{k: v for k, v in ctx.body.items() if k != "id"}}
    if items is tenant.callouts.extensions:
        merged = {**_checked_extension(merged), "id": key}
    else:
        _check_listener(tenant, merged)
    items[key] = merged
    return Reply(204)


def list_items(ctx: RequestContext, name: str, items: dict[str, dict[str, Any]]) -> Reply:
    return Reply(200, {"@odata.context": f"{ctx.base_url}/$metadata#identity/{name}", "value": list(items.values())})


def get_item(items: dict[str, dict[str, Any]], key: str) -> Reply:
    item = items.get(key)
    if item is None:
        raise not_found(key)
    return Reply(200, item)


def route_identity(tenant: EmulatedTenant, ctx: RequestContext, parts: list[str]) -> Reply | None:
    """`/identity/...` requests, or None when the path is not one of ours."""
    if len(parts) < 2:
        return None
    registry = tenant.callouts
    name = parts[1]
    items = {
        "customAuthenticationExtensions": registry.extensions,
        "authenticationEventListeners": registry.listeners,
    }.get(name)
    if items is None:
        return None
    if len(parts) == 2 and ctx.method == "GET":
        return list_items(ctx, name, items)
    if len(parts) == 2 and ctx.method == "POST":
        return create_extension(tenant, ctx) if items is registry.extensions else create_listener(tenant, ctx)
    if len(parts) == 3 and ctx.method == "GET":
        return get_item(items, parts[2])
    if len(parts) == 3 and ctx.method == "PATCH":
        return update_item(tenant, ctx, items, parts[2])
    if len(parts) == 3 and ctx.method == "DELETE":
        if items.pop(parts[2], None) is None:
            raise not_found(parts[2])
        return Reply(204)
    return None


# ---- the extension app ----------------------------------------------------------------------
def create_application(tenant: EmulatedTenant, ctx: RequestContext) -> Reply:
    body = ctx.body
    if not isinstance(body, dict) or not isinstance(body.get("displayName"), str) or not body["displayName"]:
        raise bad_request("Property displayName is required.")
    app: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "appId": str(uuid.uuid4()),
        "displayName": body["displayName"],
        "createdDateTime": utc_now_iso(),
        "signInAudience": body.get("signInAudience", "AzureADMyOrg"),
        "identifierUris": [],
        "keyCredentials": [],
        "tokenEncryptionKeyId": None,
        **new_registration_defaults(),
    }
    _apply_app_patch(tenant, app, {k: v for k, v in body.items() if k not in ("displayName", "signInAudience")})
    tenant.state.applications[app["id"]] = app
    tenant.state.dirty = True
    return Reply(
        201,
        {"@odata.context": f"{ctx.base_url}/$metadata#applications/$entity", **app},
        {"Location": f"{ctx.base_url}/applications/{app['id']}"},
    )


def update_application(tenant: EmulatedTenant, ctx: RequestContext, app: dict[str, Any]) -> Reply:
    if not isinstance(ctx.body, dict):
        raise bad_request("The request body must be an application object.")
    _apply_app_patch(tenant, app, ctx.body)
    tenant.state.dirty = True
    return Reply(204)


def _apply_app_patch(tenant: EmulatedTenant, app: dict[str, Any], body: dict[str, Any]) -> None:
    certificates: dict[str, x509.Certificate] = {}
    credentials: list[dict[str, Any]] | None = None
    if "keyCredentials" in body:
        raw = body["keyCredentials"]
        if not isinstance(raw, list):
            raise bad_request("Property keyCredentials must be a collection.")
        credentials = []
        for entry in raw:
            view, cert = _key_credential(entry)
            credentials.append(view)
            certificates[view["keyId"]] = cert
    if "identifierUris" in body:
        uris = body["identifierUris"]
        if not isinstance(uris, list) or not all(isinstance(u, str) and u for u in uris):
            raise bad_request("Property identifierUris must be a collection of strings.")
        app["identifierUris"] = list(uris)
    if "displayName" in body and isinstance(body["displayName"], str):
        app["displayName"] = body["displayName"]
    key_ids = {c["keyId"] for c in (credentials if credentials is not None else app.get("keyCredentials", []))}
    encryption_key = body.get("tokenEncryptionKeyId", app.get("tokenEncryptionKeyId"))
    if encryption_key is not None and encryption_key not in key_ids:
        raise bad_request("tokenEncryptionKeyId must be the keyId of one of the application's keyCredentials.")
    apply_registration_fields(app, body)
    if credentials is not None:
        app["keyCredentials"] = credentials
        registry = tenant.callouts.certificates
        for stale in [k for k in registry if k[0] == app["id"]]:
            del registry[stale]
        registry.update({(app["id"], key_id): cert for key_id, cert in certificates.items()})
    app["tokenEncryptionKeyId"] = encryption_key


def _key_credential(entry: Any) -> tuple[dict[str, Any], x509.Certificate]:
    if not isinstance(entry, dict) or entry.get("type") != "AsymmetricX509Cert":
        raise bad_request("keyCredentials entries must be of type AsymmetricX509Cert.")
    if entry.get("usage") not in ("Encrypt", "Verify"):
        raise bad_request("keyCredentials usage must be Encrypt or Verify.")
    try:
        cert = x509.load_der_x509_certificate(base64.b64decode(str(entry.get("key", "")), validate=True))
    except (binascii.Error, ValueError) as exc:
        raise bad_request("keyCredentials key must be a base64 DER X.509 certificate.") from exc
    key_id = entry.get("keyId") or str(uuid.uuid4())
    view = {
        "customKeyIdentifier": None,
        "displayName": entry.get("displayName") or cert.subject.rfc4514_string(),
        "endDateTime": entry.get("endDateTime") or cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "keyId": str(key_id),
        "startDateTime": entry.get("startDateTime") or cert.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "type": "AsymmetricX509Cert",
        "usage": entry["usage"],
        "key": None,
    }
    return view, cert


def encryption_certificate(tenant: EmulatedTenant, resource_id: str) -> x509.Certificate | None:
    """The certificate Entra encrypts the password context to: the extension app named by the extension's
    resourceId (an identifier URI or the app id), its keyCredential `tokenEncryptionKeyId`."""
    for app in tenant.state.applications.values():
        if resource_id != app.get("appId") and resource_id not in (app.get("identifierUris") or []):
            continue
        key_id = app.get("tokenEncryptionKeyId")
        if key_id is None:
            return None
        return tenant.callouts.certificates.get((app["id"], key_id))
    return None
