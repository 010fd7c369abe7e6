"""The `tenant.toml` schema: what an operator declares about the external tenant, validated key by key.

In: a TOML file. Out: a frozen `TenantFile`, or `TenantFileError` whose message names the file and the key path
(`tenant.toml: apps[0].redirect_uris[1]: must be an https URL …`). Secrets are references (`env:NAME`,
`keyvault:https://<vault>.vault.azure.net/secrets/<name>`); a literal secret is refused, never echoed.
"""

from __future__ import annotations

import base64
import binascii
import re
import tomllib
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from shared.profiles.loader import first_problem

# extensionProperty dataType values (graph docs resources/extensionproperty.md).
EXTENSION_TYPES = frozenset({"Binary", "Boolean", "DateTime", "Integer", "LargeInteger", "String"})
_KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_EXTENSION_NAME = re.compile(r"^[A-Za-z0-9_]{1,120}$")
_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")
_SECRET_REF = re.compile(
    r"^(env:[A-Za-z_][A-Za-z0-9_]*|keyvault:https://[A-Za-z0-9-]+\.vault\.azure\.net/secrets/[A-Za-z0-9-]+)$"
)
_RESERVED_KEYS = frozenset({"jit-extension", "tenant-record"})  # desired.JIT_APP_KEY, ownership.RECORD_KEY
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
# Built-in user attributes a sign-up page can collect (entra-docs external-id/customers/
# how-to-define-custom-attributes.md, "built-in attributes").
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


class TenantFileError(Exception):
    """tenant.toml cannot be used. str() is the one-line message: file, key path, what is wrong."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _https(url: str, *, loopback_ok: bool = False) -> str:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if loopback_ok and parts.scheme == "http" and parts.hostname in _LOOPBACK:
        return url
    raise ValueError("must be an https URL" + (" (http only on loopback)" if loopback_ok else ""))


def _secret_ref(value: str) -> str:
    if not _SECRET_REF.match(value):
        # Never repeat the value: it may be the secret itself.
        raise ValueError(
            "must be a secret reference (env:NAME or keyvault:https://<vault>.vault.azure.net/secrets/<name>), "
            "never the secret itself"
        )
    return value


class Extensions(_Section):
    """Extension properties: generated from a mapping profile (the same rule `run` uses), plus extras."""

    source: str | None = None  # a shipped profile (auth0, firebase …)
    profile: str | None = None  # a profile override file, relative to tenant.toml
    properties: dict[str, str] = Field(default_factory=dict)  # extra name → dataType

    @field_validator("properties")
    @classmethod
    def _types(cls, value: dict[str, str]) -> dict[str, str]:
        for name, data_type in value.items():
            if not _EXTENSION_NAME.match(name):
                raise ValueError(f"{name!r}: letters, digits and _ only, at most 120")
            if data_type not in EXTENSION_TYPES:
                raise ValueError(f"{name}: must be one of {', '.join(sorted(EXTENSION_TYPES))}")
        return value

    @model_validator(mode="after")
    def _profile_needs_source(self) -> Extensions:
        if self.profile is not None and self.source is None:
            raise ValueError("profile needs source (the profile overrides that source's shipped default)")
        return self


MemberType = Literal["User", "Application"]
RedirectUri = Annotated[str, AfterValidator(lambda u: _https(u, loopback_ok=True))]


def _users_only() -> list[MemberType]:
    return ["User"]


class AppRole(_Section):
    value: str = Field(min_length=1, max_length=120, pattern=r"^[^\s]+$")
    display_name: str = Field(min_length=1)
    description: str = ""
    allowed_member_types: list[MemberType] = Field(default_factory=_users_only)


class App(_Section):
    """A customer-facing app registration."""

    key: str  # our name for it (tags the object; referenced by jit.apps and user_flow.apps)
    display_name: str = Field(min_length=1, max_length=256)
    redirect_uris: list[RedirectUri] = Field(default_factory=list)  # web
    spa_redirect_uris: list[RedirectUri] = Field(default_factory=list)
    public_client_redirect_uris: list[str] = Field(default_factory=list)  # mobile / desktop
    roles: list[AppRole] = Field(default_factory=list)

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not _KEY.match(value):
            raise ValueError("lowercase letters, digits and -, at most 64")
        if value in _RESERVED_KEYS:
            raise ValueError(f"{value!r} is the key of an object tenant apply makes itself; choose another")
        return value

    @field_validator("roles")
    @classmethod
    def _unique_roles(cls, value: list[AppRole]) -> list[AppRole]:
        seen = [r.value for r in value]
        if len(set(seen)) != len(seen):
            raise ValueError("role values must be unique")
        return value


class Jit(_Section):
    """The just-in-time password migration wiring (entra-docs external-id/customers/how-to-migrate-users-jit.md)."""

    endpoint: str  # our password-submit endpoint
    apps: list[str] = Field(min_length=1)  # keys of [[apps]] the listener applies to
    certificate_file: str | None = None  # the encryption certificate (PEM or DER), relative to tenant.toml
    certificate: str | None = None  # or the same certificate inline as base64 DER (what export writes)
    api_host: str = Field(default="jit.ciam-migrate.local", pattern=r"^[A-Za-z0-9.-]+$")
    display_name: str = "ciam-migrate JIT extension"
    timeout_ms: int = Field(default=2000, ge=200, le=2000)
    max_retries: int = Field(default=1, ge=0, le=1)
    # Grant the extension app CustomAuthenticationExtension.Receive.Payload (admin consent) in apply; false when
    # the identity running apply may not grant Microsoft Graph application permissions (an admin does it once).
    admin_consent: bool = True

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        return _https(value, loopback_ok=True)

    @field_validator("certificate")
    @classmethod
    def _base64(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("must be base64 DER (or use certificate_file)") from None
        return value

    @model_validator(mode="after")
    def _one_certificate(self) -> Jit:
        if (self.certificate_file is None) == (self.certificate is None):
            raise ValueError("give exactly one of certificate_file or certificate")
        return self


class IdentityProvider(_Section):
    """Google, Facebook, Apple or a generic OpenID Connect provider; secrets by reference only."""

    type: Literal["Google", "Facebook", "Apple", "OIDC"]
    display_name: str = Field(min_length=1)
    client_id: str | None = None  # Google, Facebook, OIDC
    client_secret: str | None = None  # a reference
    # Apple (appleManagedIdentityProvider)
    developer_id: str | None = None
    service_id: str | None = None
    key_id: str | None = None
    certificate_data: str | None = None  # the .p8 key, a reference
    # OIDC (oidcIdentityProvider)
    issuer: str | None = None
    well_known_endpoint: str | None = None
    scope: str = "openid profile email"
    response_type: Literal["code", "id_token", "token"] = "code"
    client_authentication: Literal["client_secret_post", "client_secret_basic"] = "client_secret_post"

    @field_validator("client_secret", "certificate_data")
    @classmethod
    def _reference(cls, value: str | None) -> str | None:
        return None if value is None else _secret_ref(value)

    @field_validator("issuer", "well_known_endpoint")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else _https(value)

    @model_validator(mode="after")
    def _complete(self) -> IdentityProvider:
        needed = {
            "Google": ("client_id", "client_secret"),
            "Facebook": ("client_id", "client_secret"),
            "Apple": ("developer_id", "service_id", "key_id", "certificate_data"),
            "OIDC": ("client_id", "client_secret", "issuer", "well_known_endpoint"),
        }[self.type]
        missing = [name for name in needed if getattr(self, name) is None]
        if missing:
            raise ValueError(f"a {self.type} provider needs {', '.join(missing)}")
        return self

    @property
    def key(self) -> str:
        return self.issuer or self.type if self.type == "OIDC" else self.type


class UserFlow(_Section):
    """The sign-up / sign-in user flow (authenticationEventsFlows, externalUsersSelfServiceSignUpEventsFlow)."""

    display_name: str = Field(min_length=1)
    apps: list[str] = Field(default_factory=list)  # keys of [[apps]]
    sign_up: bool = True
    local_accounts: Literal["email-password", "email-otp", "none"] = "email-password"
    identity_providers: list[str] = Field(default_factory=list)  # Google, Facebook, Apple or an OIDC issuer
    attributes: list[str] = Field(default_factory=lambda: ["email", "displayName"])  # built-in or extension names

    @field_validator("attributes")
    @classmethod
    def _email_first(cls, value: list[str]) -> list[str]:
        if "email" not in value:
            raise ValueError("must collect email (the local account's sign-in name)")
        return value


class Branding(_Section):
    """Company branding (organizationalBranding, default locale)."""

    sign_in_page_text: str | None = Field(default=None, max_length=1024)
    username_hint_text: str | None = Field(default=None, max_length=64)
    background_color: str | None = None
    banner_logo_file: str | None = None  # relative to tenant.toml; PNG or JPEG, ≤ 36 KB (organizationalbranding.md)

    @field_validator("background_color")
    @classmethod
    def _colour(cls, value: str | None) -> str | None:
        if value is not None and not _COLOUR.match(value):
            raise ValueError("must be a colour like #1A2B3C")
        return value


class Mfa(_Section):
    """What External ID offers as a second factor: email one-time passcode and SMS
    (entra-docs external-id/customers/concept-multifactor-authentication-customers.md)."""

    email_otp: Literal["enabled", "disabled"] = "disabled"
    sms: Literal["enabled", "disabled"] = "disabled"


class TenantFile(_Section):
    extensions: Extensions = Field(default_factory=Extensions)
    apps: list[App] = Field(default_factory=list)
    jit: Jit | None = None
    identity_providers: list[IdentityProvider] = Field(default_factory=list)
    user_flow: UserFlow | None = None
    branding: Branding | None = None
    mfa: Mfa | None = None

    @model_validator(mode="after")
    def _references(self) -> TenantFile:
        keys = [a.key for a in self.apps]
        dupes = {k for k in keys if keys.count(k) > 1}
        if dupes:
            raise ValueError(f"apps: key {sorted(dupes)[0]!r} is used twice")
        idp_keys = [p.key for p in self.identity_providers]
        if len(set(idp_keys)) != len(idp_keys):
            raise ValueError("identity_providers: one provider per type (per issuer for OIDC)")
        for where, wanted in (
            ("jit.apps", self.jit.apps if self.jit else []),
            ("user_flow.apps", self.user_flow.apps if self.user_flow else []),
        ):
            for key in wanted:
                if key not in keys:
                    raise ValueError(f"{where}: {key!r} is not the key of an [[apps]] entry")
        if self.user_flow:
            for name in self.user_flow.identity_providers:
                if name not in idp_keys:
                    raise ValueError(
                        f"user_flow.identity_providers: {name!r} is not declared in [[identity_providers]]"
                    )
        return self


def parse_tenant_file(text: str, where: str) -> TenantFile:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TenantFileError(f"{where}: invalid TOML: {exc}") from None
    try:
        return TenantFile.model_validate(data)
    except ValidationError as exc:
        raise TenantFileError(f"{where}: {first_problem(exc, root='')}") from None


def load_tenant_file(path: Path) -> TenantFile:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TenantFileError(f"{path}: cannot read the tenant file ({exc.__class__.__name__})") from None
    return parse_tenant_file(text, str(path))
