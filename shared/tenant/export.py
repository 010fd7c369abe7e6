"""`tenant export`: today's configuration as tenant.toml text, so that planning it against the same tenant
shows no change. Reads only; touches only what carries our tag or marker (apps, the JIT wiring and whether its
admin consent is granted, the user flow),
plus the tenant-wide settings tenant.toml declares (extension properties of the b2c-extensions-app, identity
providers, default branding texts, email / SMS method states). Secrets are never readable through Graph: each
provider's secret is written as an `env:` reference to fill in. The banner logo is not exported (a stream).
"""

from __future__ import annotations

import json
from typing import Any

from shared.tenant import desired as d
from shared.tenant.consent import consent_granted
from shared.tenant.graph import TenantGraph
from shared.tenant.ownership import RECORD_KEY

_IDP_SECRET_REF = {
    "Google": "env:GOOGLE_CLIENT_SECRET",
    "Facebook": "env:FACEBOOK_CLIENT_SECRET",
    "Apple": "env:APPLE_SIGNING_KEY",
}


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # a TOML basic string is a JSON string
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(type(v).__name__)


def _key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() else json.dumps(k)


def _table(header: str, fields: dict[str, Any]) -> list[str]:
    lines = [header]
    lines += [f"{_key(k)} = {_value(v)}" for k, v in fields.items() if v is not None]
    return [*lines, ""]


async def export_tenant(graph: TenantGraph) -> str:
    apps = await graph.list_objects("applications")
    holder = next((a for a in apps if str(a.get("displayName", "")).startswith("b2c-extensions-app")), None)
    lines = ["# tenant.toml exported by `ciam-migrate tenant export`; plan it to see no change.", ""]
    props: dict[str, str] = {}
    if holder is not None:
        for p in await graph.extension_properties(holder["id"]):
            if "User" in (p.get("targetObjects") or []):
                props[str(p["name"]).split("_", 2)[2]] = str(p.get("dataType"))
    lines += _table("[extensions]", {"properties": props})
    managed = {k: a for a in apps if (k := d.managed_key(a)) is not None}
    key_of = {a["appId"]: k for k, a in managed.items()}
    for key, app in managed.items():
        if key in (d.JIT_APP_KEY, RECORD_KEY):
            continue
        lines += _table(
            "[[apps]]",
            {
                "key": key,
                "display_name": app.get("displayName"),
                "redirect_uris": (app.get("web") or {}).get("redirectUris") or [],
                "spa_redirect_uris": (app.get("spa") or {}).get("redirectUris") or [],
                "public_client_redirect_uris": (app.get("publicClient") or {}).get("redirectUris") or [],
            },
        )
        for role in app.get("appRoles") or []:
            lines += _table(
                "[[apps.roles]]",
                {
                    "value": role.get("value"),
                    "display_name": role.get("displayName"),
                    "description": role.get("description") or "",
                    "allowed_member_types": role.get("allowedMemberTypes"),
                },
            )
    lines += await _jit(graph, managed.get(d.JIT_APP_KEY), key_of)
    idp_keys = {}
    for idp in await graph.list_objects("identityProviders"):
        entry = _idp(idp)
        if entry is not None:
            idp_keys[idp["id"]] = entry.get("issuer") or entry["type"]
            lines += _table("[[identity_providers]]", entry)
    lines += await _flow(graph, key_of, idp_keys)
    lines += await _branding(graph)
    email = (await graph.method_configuration("email")).get("state")
    sms = (await graph.method_configuration("sms")).get("state")
    lines += _table("[mfa]", {"email_otp": email, "sms": sms})
    return "\n".join(lines).rstrip() + "\n"


async def _jit(graph: TenantGraph, app: dict[str, Any] | None, key_of: dict[str, str]) -> list[str]:
    extension = next(
        (e for e in await graph.list_objects("customAuthenticationExtensions") if e.get("description") == d.MARKER),
        None,
    )
    if app is None or extension is None:
        return []
    listener = next(
        (
            x
            for x in await graph.list_objects("authenticationEventListeners")
            if ((x.get("handler") or {}).get("customExtension") or {}).get("id") == extension["id"]
        ),
        None,
    )
    encryption = next(
        (k for k in await graph.key_credentials(app["id"]) if k.get("keyId") == app.get("tokenEncryptionKeyId")), None
    )
    uri = (app.get("identifierUris") or [""])[0]
    host = uri.removeprefix("api://").rsplit("/", 1)[0] if uri.startswith("api://") else None
    included = ((listener or {}).get("conditions") or {}).get("applications", {}).get("includeApplications") or []
    client = extension.get("clientConfiguration") or {}
    return _table(
        "[jit]",
        {
            "endpoint": (extension.get("endpointConfiguration") or {}).get("targetUrl"),
            "apps": [key_of.get(a.get("appId"), a.get("appId")) for a in included],
            "certificate": (encryption or {}).get("key"),
            "api_host": host,
            "display_name": app.get("displayName"),
            "timeout_ms": client.get("timeoutInMilliseconds"),
            "max_retries": client.get("maximumRetries"),
            "admin_consent": await consent_granted(graph, str(app.get("appId"))),
        },
    )


def _idp(idp: dict[str, Any]) -> dict[str, Any] | None:
    kind = str(idp.get("@odata.type", ""))
    if kind.endswith("socialIdentityProvider"):
        t = idp.get("identityProviderType")
        return {
            "type": t,
            "display_name": idp.get("displayName"),
            "client_id": idp.get("clientId"),
            "client_secret": _IDP_SECRET_REF.get(str(t), "env:CLIENT_SECRET"),
        }
    if kind.endswith("appleManagedIdentityProvider"):
        return {
            "type": "Apple",
            "display_name": idp.get("displayName"),
            "developer_id": idp.get("developerId"),
            "service_id": idp.get("serviceId"),
            "key_id": idp.get("keyId"),
            "certificate_data": _IDP_SECRET_REF["Apple"],
        }
    if kind.endswith("oidcIdentityProvider"):
        return {
            "type": "OIDC",
            "display_name": idp.get("displayName"),
            "client_id": idp.get("clientId"),
            "client_secret": "env:OIDC_CLIENT_SECRET",
            "issuer": idp.get("issuer"),
            "well_known_endpoint": idp.get("wellKnownEndpoint"),
            "scope": idp.get("scope"),
            "response_type": idp.get("responseType"),
        }
    return None  # built-in (email + password, email OTP): not declared in tenant.toml


async def _flow(graph: TenantGraph, key_of: dict[str, str], idp_keys: dict[str, str]) -> list[str]:
    flow = next(
        (f for f in await graph.list_objects("authenticationEventsFlows") if f.get("description") == d.MARKER), None
    )
    if flow is None:
        return []
    providers = [
        p.get("id") for p in (flow.get("onAuthenticationMethodLoadStart") or {}).get("identityProviders") or []
    ]
    local = next((k for k, v in d.LOCAL_IDPS.items() if v in providers), "none")
    attributes = [str(a.get("id")) for a in (flow.get("onAttributeCollection") or {}).get("attributes") or []]
    return _table(
        "[user_flow]",
        {
            "display_name": flow.get("displayName"),
            "apps": [key_of.get(a, a) for a in await graph.flow_app_ids(flow["id"])],
            "sign_up": (flow.get("onInteractiveAuthFlowStart") or {}).get("isSignUpAllowed", True),
            "local_accounts": local,
            "identity_providers": [idp_keys[p] for p in providers if p in idp_keys],
            "attributes": [a.split("_", 2)[2] if a.startswith("extension_") else a for a in attributes],
        },
    )


async def _branding(graph: TenantGraph) -> list[str]:
    branding = await graph.branding(await graph.organization_id())
    fields = {
        "sign_in_page_text": branding.get("signInPageText"),
        "username_hint_text": branding.get("usernameHintText"),
        "background_color": branding.get("backgroundColor"),
    }
    return _table("[branding]", fields) if any(v is not None for v in fields.values()) else []
