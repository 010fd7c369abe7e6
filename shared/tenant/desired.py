"""tenant.toml → the Graph bodies it stands for (pure; no I/O but reading the files tenant.toml names).

Shapes: graph docs v1.0 resources/application.md (tags, web/spa/publicClient redirectUris, appRoles,
requiredResourceAccess, keyCredentials, tokenEncryptionKeyId), socialidentityprovider.md,
applemanagedidentityprovider.md, oidcidentityprovider.md, externalusersselfservicesignupeventsflow.md,
organizationalbranding.md, emailauthenticationmethodconfiguration.md, smsauthenticationmethodconfiguration.md;
beta onpasswordsubmitcustomextension.md and onpasswordsubmitlistener.md; entra-docs
external-id/customers/how-to-migrate-users-jit.md for the JIT wiring. Secrets are left as references here.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from shared.mapping import MappingOptions, extension_properties_for
from shared.profiles.loader import ProfileError, load_profile
from shared.tenant.model import BUILT_IN_ATTRIBUTES, App, IdentityProvider, Jit, TenantFile, TenantFileError

MANAGED_TAG = "ciam-migrate:managed"
KEY_TAG = "ciam-migrate:key:"
JIT_APP_KEY = "jit-extension"
MARKER = "Managed by ciam-migrate (tenant apply)."  # description of objects that have one
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
# Microsoft Graph's CustomAuthenticationExtension.Receive.Payload application permission (permissions-reference.md).
RECEIVE_PAYLOAD_ROLE = "214e810f-fda8-4fd7-a475-29461495eb00"
_NS = uuid.UUID("5b1f3c0e-6d7a-4f5e-9c2b-1a0e8d7c6b5a")
LOCAL_IDPS = {"email-password": "EmailPassword-OAUTH", "email-otp": "EmailOtpSignup-OAUTH"}
SOCIAL_IDP_IDS = {"Google": "Google-OAUTH", "Facebook": "Facebook-OAUTH", "Apple": "Apple-Managed-OIDC"}


def app_tags(key: str) -> list[str]:
    return [MANAGED_TAG, f"{KEY_TAG}{key}"]


def managed_key(app: dict[str, Any]) -> str | None:
    tags = app.get("tags") or []
    if MANAGED_TAG not in tags:
        return None
    return next((t[len(KEY_TAG) :] for t in tags if t.startswith(KEY_TAG)), None)


def role_id(app_key: str, value: str) -> str:
    """Stable appRole ids: the same file gives the same ids in every tenant and on every run."""
    return str(uuid.uuid5(_NS, f"{app_key}:{value}"))


def app_body(app: App) -> dict[str, Any]:
    return {
        "displayName": app.display_name,
        "signInAudience": "AzureADMyOrg",
        "tags": app_tags(app.key),
        "web": {"redirectUris": list(app.redirect_uris)},
        "spa": {"redirectUris": list(app.spa_redirect_uris)},
        "publicClient": {"redirectUris": list(app.public_client_redirect_uris)},
        "appRoles": [
            {
                "id": role_id(app.key, r.value),
                "value": r.value,
                "displayName": r.display_name,
                "description": r.description or r.display_name,
                "allowedMemberTypes": list(r.allowed_member_types),
                "isEnabled": True,
            }
            for r in app.roles
        ],
    }


@dataclass(frozen=True)
class Certificate:
    der_base64: str
    key_id: str  # derived from the certificate, so re-applying the same file is a no-op
    subject: str


def load_certificate(jit: Jit, base: Path) -> Certificate:
    if jit.certificate is not None:
        der = base64.b64decode(jit.certificate)
        where = "jit.certificate"
    else:
        path = base / str(jit.certificate_file)
        where = f"jit.certificate_file ({path})"
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise TenantFileError(f"{where}: cannot read ({exc.__class__.__name__})") from None
        der = raw
        if raw.lstrip().startswith(b"-----BEGIN"):
            try:
                der = x509.load_pem_x509_certificate(raw).public_bytes(Encoding.DER)
            except ValueError:
                raise TenantFileError(f"{where}: not a PEM certificate") from None
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        raise TenantFileError(f"{where}: not an X.509 certificate") from None
    key_id = str(uuid.uuid5(_NS, hashlib.sha256(der).hexdigest()))
    return Certificate(base64.b64encode(der).decode(), key_id, cert.subject.rfc4514_string())


def jit_app_body(jit: Jit) -> dict[str, Any]:
    return {
        "displayName": jit.display_name,
        "signInAudience": "AzureADMyOrg",
        "tags": app_tags(JIT_APP_KEY),
        "requiredResourceAccess": [
            {"resourceAppId": GRAPH_APP_ID, "resourceAccess": [{"id": RECEIVE_PAYLOAD_ROLE, "type": "Role"}]}
        ],
    }


def jit_audience(jit: Jit, app_id: str) -> str:
    return f"api://{jit.api_host}/{app_id}"


def jit_keys_body(cert: Certificate) -> dict[str, Any]:
    return {
        "keyCredentials": [
            {
                "type": "AsymmetricX509Cert",
                "usage": "Encrypt",
                "key": cert.der_base64,
                "keyId": cert.key_id,
                "displayName": cert.subject,
            }
        ],
        "tokenEncryptionKeyId": cert.key_id,
    }


def extension_body(jit: Jit, audience: str) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.onPasswordSubmitCustomExtension",
        "displayName": "ciam-migrate password migration",
        "description": MARKER,
        "endpointConfiguration": {"@odata.type": "#microsoft.graph.httpRequestEndpoint", "targetUrl": jit.endpoint},
        "authenticationConfiguration": {
            "@odata.type": "#microsoft.graph.azureAdTokenAuthentication",
            "resourceId": audience,
        },
        "clientConfiguration": {"timeoutInMilliseconds": jit.timeout_ms, "maximumRetries": jit.max_retries},
    }


def listener_body(app_ids: list[str], flag: str, extension_id: str) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.onPasswordSubmitListener",
        "conditions": {"applications": {"includeApplications": [{"appId": a} for a in app_ids]}},
        "handler": {
            "@odata.type": "#microsoft.graph.onPasswordMigrationCustomExtensionHandler",
            "migrationPropertyId": flag,
            "customExtension": {"id": extension_id},
        },
    }


# Fields of each provider type that hold a secret: sent on create only, never compared or shown.
SECRET_FIELDS = ("clientSecret", "certificateData", "clientAuthentication")


def idp_body(idp: IdentityProvider) -> dict[str, Any]:
    """The provider's body with its secrets still as references (`resolve` swaps them in at apply)."""
    if idp.type in ("Google", "Facebook"):
        return {
            "@odata.type": "#microsoft.graph.socialIdentityProvider",
            "displayName": idp.display_name,
            "identityProviderType": idp.type,
            "clientId": idp.client_id,
            "clientSecret": idp.client_secret,
        }
    if idp.type == "Apple":
        return {
            "@odata.type": "#microsoft.graph.appleManagedIdentityProvider",
            "displayName": idp.display_name,
            "developerId": idp.developer_id,
            "serviceId": idp.service_id,
            "keyId": idp.key_id,
            "certificateData": idp.certificate_data,
        }
    return {
        "@odata.type": "#microsoft.graph.oidcIdentityProvider",
        "displayName": idp.display_name,
        "clientId": idp.client_id,
        "issuer": idp.issuer,
        "wellKnownEndpoint": idp.well_known_endpoint,
        "responseType": idp.response_type,
        "scope": idp.scope,
        "clientAuthentication": {
            "@odata.type": "#microsoft.graph.oidcClientSecretAuthentication",
            "clientSecret": idp.client_secret,
        },
        "inboundClaimMapping": {
            "sub": "sub",
            "name": "name",
            "givenName": "given_name",
            "surname": "family_name",
            "email": "email",
            "emailVerified": "email_verified",
        },
    }


def idp_matches(idp: IdentityProvider, actual: dict[str, Any]) -> bool:
    kind = str(actual.get("@odata.type", ""))
    if idp.type in ("Google", "Facebook"):
        return kind.endswith("socialIdentityProvider") and actual.get("identityProviderType") == idp.type
    if idp.type == "Apple":
        return kind.endswith("appleManagedIdentityProvider")
    return kind.endswith("oidcIdentityProvider") and actual.get("issuer") == idp.issuer


def actual_idp_key(actual: dict[str, Any]) -> str | None:
    """The tenant.toml key of a provider Graph returned (its type, or the OIDC issuer); None for built-ins."""
    kind = str(actual.get("@odata.type", ""))
    if kind.endswith("socialIdentityProvider"):
        return str(actual.get("identityProviderType"))
    if kind.endswith("appleManagedIdentityProvider"):
        return "Apple"
    if kind.endswith("oidcIdentityProvider"):
        return str(actual.get("issuer"))
    return None


def flow_body(tenant: TenantFile, idp_ids: list[str], extension_names: dict[str, str]) -> dict[str, Any]:
    flow = tenant.user_flow
    assert flow is not None
    local = [LOCAL_IDPS[flow.local_accounts]] if flow.local_accounts in LOCAL_IDPS else []
    attributes = [attribute_id(name, extension_names) for name in flow.attributes]
    inputs = [
        {
            "attribute": a,
            "label": name,
            "inputType": "text",
            "required": name == "email",
            "editable": name != "email",
            "writeToDirectory": True,
            "hidden": False,
            "validationRegEx": "^.*",
        }
        for a, name in zip(attributes, flow.attributes, strict=True)
    ]
    return {
        "@odata.type": "#microsoft.graph.externalUsersSelfServiceSignUpEventsFlow",
        "displayName": flow.display_name,
        "description": MARKER,
        "onInteractiveAuthFlowStart": {
            "@odata.type": "#microsoft.graph.onInteractiveAuthFlowStartExternalUsersSelfServiceSignUp",
            "isSignUpAllowed": flow.sign_up,
        },
        "onAuthenticationMethodLoadStart": {
            "@odata.type": "#microsoft.graph.onAuthenticationMethodLoadStartExternalUsersSelfServiceSignUp",
            "identityProviders": [{"id": i} for i in local + idp_ids],
        },
        "onAttributeCollection": {
            "@odata.type": "#microsoft.graph.onAttributeCollectionExternalUsersSelfServiceSignUp",
            "attributes": [{"id": a} for a in attributes],
            "attributeCollectionPage": {"views": [{"inputs": inputs}]},
        },
    }


def attribute_id(name: str, extension_names: dict[str, str]) -> str:
    if name in BUILT_IN_ATTRIBUTES:
        return name
    full = extension_names.get(name)
    if full is None:
        raise TenantFileError(
            f"user_flow.attributes: {name!r} is neither a built-in attribute nor an extension property of [extensions]"
        )
    return full


def branding_body(tenant: TenantFile) -> dict[str, Any]:
    b = tenant.branding
    if b is None:
        return {}
    fields = {
        "signInPageText": b.sign_in_page_text,
        "usernameHintText": b.username_hint_text,
        "backgroundColor": b.background_color,
    }
    return {k: v for k, v in fields.items() if v is not None}


METHOD_TYPES = {
    "email": "#microsoft.graph.emailAuthenticationMethodConfiguration",
    "sms": "#microsoft.graph.smsAuthenticationMethodConfiguration",
}


def mfa_states(tenant: TenantFile) -> dict[str, str]:
    return {} if tenant.mfa is None else {"email": tenant.mfa.email_otp, "sms": tenant.mfa.sms}


def flag_name(tenant: TenantFile, base: Path) -> str:
    profile = _profile(tenant, base)
    return profile.target.flag_attribute if profile is not None else "toBeMigrated"


def extension_properties(tenant: TenantFile, base: Path, extensions_app_id: str) -> dict[str, str]:
    """{full name: dataType}: the mapping profile's (by the same rule `run` registers them), the file's extras,
    and the JIT flag when [jit] is declared."""
    options = MappingOptions(tenant="", extensions_app_id=extensions_app_id, legacy_id_attribute=None)
    wanted: dict[str, str] = {}
    profile = _profile(tenant, base)
    if profile is not None:
        mapping = profile.mapping_options("", extensions_app_id)
        options = mapping
        wanted.update(extension_properties_for(dict.fromkeys(profile.attributes), mapping))
    for name, data_type in tenant.extensions.properties.items():
        wanted[options.extension_name(name)] = data_type
    if tenant.jit is not None:
        wanted[options.extension_name(flag_name(tenant, base))] = "Boolean"
    return wanted


def short_names(full: dict[str, str]) -> dict[str, str]:
    """{short name: full name} for the user flow's attribute list."""
    return {name.split("_", 2)[2]: name for name in full}


def _profile(tenant: TenantFile, base: Path) -> Any:
    ext = tenant.extensions
    if ext.source is None:
        return None
    try:
        return load_profile(ext.source, base / ext.profile if ext.profile else None)
    except ProfileError as exc:
        raise TenantFileError(f"extensions: {exc}") from None


def read_logo(path: Path) -> tuple[bytes, str]:
    """(image, content type) of branding.banner_logo_file: a PNG or JPEG, as Graph accepts for bannerLogo."""
    try:
        image = path.read_bytes()
    except OSError as exc:
        raise TenantFileError(f"branding.banner_logo_file ({path}): cannot read ({exc.__class__.__name__})") from None
    if image.startswith(b"\x89PNG\r\n\x1a\n"):
        return image, "image/png"
    if image.startswith(b"\xff\xd8\xff"):
        return image, "image/jpeg"
    raise TenantFileError(f"branding.banner_logo_file ({path}): must be a PNG or JPEG image")
