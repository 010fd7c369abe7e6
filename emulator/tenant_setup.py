"""The tenant configuration `ciam-migrate tenant apply` writes, with Graph's documented shapes and validation:

/identity/identityProviders            GET, POST, GET/PATCH/DELETE {id}: socialIdentityProvider (Google, Facebook),
                                       appleManagedIdentityProvider, oidcIdentityProvider; secrets read back as
                                       "****" (graph docs v1.0 api/identitycontainer-post-identityproviders.md,
                                       resources/identityproviderbase.md: external tenants support Apple, builtIn,
                                       social and OIDC providers)
/identity/authenticationEventsFlows    GET, POST, GET/PATCH/DELETE {id}, …/conditions/applications/
                                       includeApplications GET/POST, DELETE {appId}
                                       (resources/externalusersselfservicesignupeventsflow.md,
                                       api/authenticationconditionsapplications-post-includeapplications.md)
/organization/{id}/branding            GET, PATCH; GET …/bannerLogo, PUT …/localizations/0/bannerLogo
                                       (api/organizationalbranding-update.md: strings by PATCH, streams by PUT)
/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/{email|sms}   GET, PATCH state
                                       (entra-docs external-id/customers/concept-multifactor-authentication-
                                       customers.md: email OTP and SMS are the second factors of external tenants)
Kept in memory, like the JIT configuration (callout_registry).
"""

from __future__ import annotations

import uuid
from typing import Any

from emulator.context import Reply, RequestContext
from emulator.core import EmulatedTenant
from emulator.errors import GraphError, bad_request, not_found
from emulator.tenant_setup_state import TenantSetup

SOCIAL = "#microsoft.graph.socialIdentityProvider"
APPLE = "#microsoft.graph.appleManagedIdentityProvider"
OIDC = "#microsoft.graph.oidcIdentityProvider"
BUILT_IN = "#microsoft.graph.builtInIdentityProvider"
FLOW = "#microsoft.graph.externalUsersSelfServiceSignUpEventsFlow"
_REQUIRED = {
    SOCIAL: ("displayName", "identityProviderType", "clientId", "clientSecret"),
    APPLE: ("displayName", "developerId", "serviceId", "keyId", "certificateData"),
    OIDC: ("displayName", "clientId", "issuer", "wellKnownEndpoint", "clientAuthentication", "responseType"),
}
_SECRETS = ("clientSecret", "certificateData")
_BUILT_INS = (
    {
        "@odata.type": BUILT_IN,
        "id": "EmailPassword-OAUTH",
        "displayName": "Email with password",
        "identityProviderType": "EmailPassword",
        "state": None,
    },
    {
        "@odata.type": BUILT_IN,
        "id": "EmailOtpSignup-OAUTH",
        "displayName": "Email with one-time passcode",
        "identityProviderType": "EmailOTP",
        "state": None,
    },
)
BUILT_IN_ATTRIBUTES = frozenset(
    {
        "email",
        "displayName",
        "givenName",
        "surname",
        "city",
        "country",
        "postalCode",
        "state",
        "streetAddress",
        "jobTitle",
    }
)
BRANDING_STRINGS = {"signInPageText": 1024, "usernameHintText": 64, "backgroundColor": 7}
METHOD_TYPES = {
    "email": "#microsoft.graph.emailAuthenticationMethodConfiguration",
    "sms": "#microsoft.graph.smsAuthenticationMethodConfiguration",
}


def setup_of(tenant: EmulatedTenant) -> TenantSetup:
    return tenant.setup


def _view(idp: dict[str, Any]) -> dict[str, Any]:
    shown = {k: ("****" if k in _SECRETS else v) for k, v in idp.items()}
    auth = shown.get("clientAuthentication")
    if isinstance(auth, dict) and "clientSecret" in auth:
        shown["clientAuthentication"] = {**auth, "clientSecret": "****"}
    return shown


def _check_idp(body: Any, *, partial: bool) -> str:
    if not isinstance(body, dict):
        raise bad_request("The request body must be an identityProviderBase object.")
    kind = body.get("@odata.type")
    if kind not in _REQUIRED:
        raise bad_request(
            "@odata.type must be socialIdentityProvider, appleManagedIdentityProvider or "
            "oidcIdentityProvider in an external tenant."
        )
    if not partial:
        missing = [k for k in _REQUIRED[kind] if not body.get(k)]
        if missing:
            raise bad_request(f"Missing required properties: {', '.join(missing)}.")
    if kind == SOCIAL and "identityProviderType" in body and body["identityProviderType"] not in ("Google", "Facebook"):
        raise bad_request("identityProviderType must be Google or Facebook for a socialIdentityProvider.")
    for url_key in ("issuer", "wellKnownEndpoint"):
        if url_key in body and not str(body[url_key]).startswith("https://"):
            raise bad_request(f"{url_key} must be an https URL.")
    if kind == OIDC and "clientAuthentication" in body:
        auth = body["clientAuthentication"]
        if not isinstance(auth, dict) or not auth.get("clientSecret"):
            raise bad_request("clientAuthentication must carry a clientSecret.")
    return str(kind)


def create_idp(tenant: EmulatedTenant, ctx: RequestContext) -> Reply:
    setup = setup_of(tenant)
    kind = _check_idp(ctx.body, partial=False)
    body = dict(ctx.body)
    if kind == SOCIAL:
        idp_id = f"{body['identityProviderType']}-OAUTH"
    elif kind == APPLE:
        idp_id = "Apple-Managed-OIDC"
    else:
        idp_id = str(uuid.uuid4())
    if idp_id in setup.identity_providers:
        raise GraphError(409, "Request_BadRequest", "An identity provider of this type already exists.")
    body["id"] = idp_id
    setup.identity_providers[idp_id] = body
    return Reply(201, {"@odata.context": f"{ctx.base_url}/$metadata#identity/identityProviders/$entity", **_view(body)})


def route_idps(tenant: EmulatedTenant, ctx: RequestContext, parts: list[str]) -> Reply:
    setup = setup_of(tenant)
    if len(parts) == 2:
        if ctx.method == "GET":
            items = [*_BUILT_INS, *(_view(i) for i in setup.identity_providers.values())]
            return Reply(
                200, {"@odata.context": f"{ctx.base_url}/$metadata#identity/identityProviders", "value": items}
            )
        if ctx.method == "POST":
            return create_idp(tenant, ctx)
        raise _not_allowed()
    item = setup.identity_providers.get(parts[2])
    if item is None:
        raise not_found(parts[2])
    if ctx.method == "GET":
        return Reply(200, _view(item))
    if ctx.method == "PATCH":
        kind = _check_idp({"@odata.type": item["@odata.type"], **(ctx.body or {})}, partial=True)
        if kind != item["@odata.type"]:
            raise bad_request("The @odata.type of an identity provider cannot change.")
        item.update({k: v for k, v in ctx.body.items() if k not in ("id", "@odata.type")})
        return Reply(204)
    if ctx.method == "DELETE":
        del setup.identity_providers[parts[2]]
        return Reply(204)
    raise _not_allowed()


# ---- user flows --------------------------------------------------------------------------------
def _check_flow(tenant: EmulatedTenant, body: dict[str, Any]) -> None:
    setup = setup_of(tenant)
    providers = (body.get("onAuthenticationMethodLoadStart") or {}).get("identityProviders") or []
    known = {i["id"] for i in _BUILT_INS} | set(setup.identity_providers)
    for provider in providers:
        if not isinstance(provider, dict) or provider.get("id") not in known:
            raise bad_request("onAuthenticationMethodLoadStart.identityProviders names an unknown identity provider.")
    attributes = (body.get("onAttributeCollection") or {}).get("attributes") or []
    for attribute in attributes:
        name = attribute.get("id") if isinstance(attribute, dict) else None
        if name not in BUILT_IN_ATTRIBUTES and name not in tenant.state.extension_properties:
            raise bad_request(f"onAttributeCollection.attributes: '{name}' is not a user flow attribute.")


def route_flows(tenant: EmulatedTenant, ctx: RequestContext, parts: list[str]) -> Reply:
    setup = setup_of(tenant)
    if len(parts) == 2:
        if ctx.method == "GET":
            return Reply(
                200,
                {
                    "@odata.context": f"{ctx.base_url}/$metadata#identity/authenticationEventsFlows",
                    "value": list(setup.flows.values()),
                },
            )
        if ctx.method != "POST":
            raise _not_allowed()
        body = ctx.body
        if not isinstance(body, dict) or body.get("@odata.type") != FLOW:
            raise bad_request(f"@odata.type must be {FLOW}.")
        if not body.get("displayName") or not body.get("onInteractiveAuthFlowStart"):
            raise bad_request("displayName and onInteractiveAuthFlowStart are required.")
        if any(f["displayName"] == body["displayName"] for f in setup.flows.values()):
            raise bad_request("A user flow with this displayName already exists (displayName must be unique).")
        _check_flow(tenant, body)
        flow = {**body, "id": str(uuid.uuid4())}
        setup.flows[flow["id"]] = flow
        setup.flow_apps[flow["id"]] = []
        return Reply(
            201, {"@odata.context": f"{ctx.base_url}/$metadata#identity/authenticationEventsFlows/$entity", **flow}
        )
    found = setup.flows.get(parts[2])
    if found is None:
        raise not_found(parts[2])
    flow = found
    if len(parts) >= 6 and parts[3:6] == ["conditions", "applications", "includeApplications"]:
        return _flow_apps(tenant, ctx, flow["id"], parts[6:])
    if len(parts) != 3:
        raise bad_request(f"Resource not found for the segment '{parts[-1]}'.")
    if ctx.method == "GET":
        return Reply(200, flow)
    if ctx.method == "PATCH":
        if not isinstance(ctx.body, dict):
            raise bad_request("The request body must be an authenticationEventsFlow object.")
        merged = {**flow, **{k: v for k, v in ctx.body.items() if k != "id"}}
        _check_flow(tenant, merged)
        flow.update(merged)
        return Reply(204)
    if ctx.method == "DELETE":
        del setup.flows[flow["id"]]
        setup.flow_apps.pop(flow["id"], None)
        return Reply(204)
    raise _not_allowed()


def _flow_apps(tenant: EmulatedTenant, ctx: RequestContext, flow_id: str, rest: list[str]) -> Reply:
    apps = setup_of(tenant).flow_apps[flow_id]
    if not rest and ctx.method == "GET":
        value = [{"@odata.type": "#microsoft.graph.authenticationConditionApplication", "appId": a} for a in apps]
        return Reply(200, {"value": value})
    if not rest and ctx.method == "POST":
        app_id = (ctx.body or {}).get("appId") if isinstance(ctx.body, dict) else None
        if not any(a["appId"] == app_id for a in tenant.state.applications.values()):
            raise bad_request("appId must be the application id of an app registration in the tenant.")
        if app_id in apps:
            raise bad_request("The application is already linked to this user flow.")
        apps.append(str(app_id))
        return Reply(201, {"@odata.type": "#microsoft.graph.authenticationConditionApplication", "appId": app_id})
    if len(rest) == 1 and ctx.method == "DELETE":
        if rest[0] not in apps:
            raise not_found(rest[0])
        apps.remove(rest[0])
        return Reply(204)
    raise _not_allowed()


# ---- branding ---------------------------------------------------------------------------------
def route_branding(tenant: EmulatedTenant, ctx: RequestContext, parts: list[str]) -> Reply:
    setup = setup_of(tenant)
    if parts[1] != tenant.config.tenant_id:
        raise not_found(parts[1])
    rest = parts[3:]
    if not rest:
        if ctx.method == "GET":
            if setup.branding is None:
                raise not_found("branding")
            return Reply(
                200, {"@odata.context": f"{ctx.base_url}/$metadata#branding/$entity", "id": "0", **setup.branding}
            )
        if ctx.method == "PATCH":
            body = ctx.body
            if not isinstance(body, dict):
                raise bad_request("The request body must be an organizationalBranding object.")
            for key, value in body.items():
                if key == "@odata.type":
                    continue
                limit = BRANDING_STRINGS.get(key)
                if limit is None:
                    raise bad_request(
                        f"Property '{key}' is not a string property of organizationalBranding "
                        "(streams are set with PUT)."
                    )
                if not isinstance(value, str) or len(value) > limit:
                    raise bad_request(f"Property '{key}' must be a string of at most {limit} characters.")
            setup.branding = {**(setup.branding or {}), **{k: v for k, v in body.items() if k != "@odata.type"}}
            return Reply(204)
        raise _not_allowed()
    is_logo = rest == ["bannerLogo"] or rest == ["localizations", "0", "bannerLogo"]
    if is_logo and ctx.method == "GET":
        if setup.banner_logo is None:
            raise not_found("bannerLogo")
        return Reply(200, setup.banner_logo[0], {"Content-Type": setup.banner_logo[1]})
    if is_logo and ctx.method == "PUT":
        content_type = ctx.headers.get("content-type", "").split(";")[0]
        if content_type not in ("image/png", "image/jpeg") or not isinstance(ctx.body, bytes) or not ctx.body:
            raise bad_request("bannerLogo must be a PNG or JPEG image (Content-Type image/png or image/jpeg).")
        setup.banner_logo = (ctx.body, content_type)
        setup.branding = setup.branding or {}
        return Reply(204)
    raise _not_allowed()


# ---- authentication methods policy ------------------------------------------------------------
def route_methods(tenant: EmulatedTenant, ctx: RequestContext, parts: list[str]) -> Reply:
    setup = setup_of(tenant)
    if len(parts) != 4:
        raise bad_request(f"Resource not found for the segment '{parts[-1]}'.")
    method = parts[3]
    if method not in METHOD_TYPES:
        raise not_found(method)
    if ctx.method == "GET":
        return Reply(200, {"@odata.type": METHOD_TYPES[method], "id": method, "state": setup.methods[method]})
    if ctx.method == "PATCH":
        body = ctx.body
        if not isinstance(body, dict) or body.get("@odata.type") != METHOD_TYPES[method]:
            raise bad_request(f"@odata.type must be {METHOD_TYPES[method]}.")
        if body.get("state") not in ("enabled", "disabled"):
            raise bad_request("state must be enabled or disabled.")
        setup.methods[method] = body["state"]
        return Reply(204)
    raise _not_allowed()


def route_tenant_setup(tenant: EmulatedTenant, ctx: RequestContext, parts: list[str]) -> Reply | None:
    """The reply for one of this module's paths, or None when the path is not one of them."""
    if parts[:2] == ["identity", "identityProviders"]:
        return route_idps(tenant, ctx, parts)
    if parts[:2] == ["identity", "authenticationEventsFlows"]:
        return route_flows(tenant, ctx, parts)
    if len(parts) >= 3 and parts[0] == "organization" and parts[2] == "branding":
        return route_branding(tenant, ctx, parts)
    if parts[:3] == ["policies", "authenticationMethodsPolicy", "authenticationMethodConfigurations"]:
        return route_methods(tenant, ctx, parts)
    return None


def _not_allowed() -> GraphError:
    return GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
