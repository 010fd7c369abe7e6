"""One credential per app registration ("lane"), for the target tenant, through azure-identity.

An app is written `CLIENT_ID[:secret-env=VAR|:cert=PATH[:cert-password-env=VAR]|:federated-token-file=PATH|
:managed-identity=MI_CLIENT_ID]` (the `--app` option and the APP_IDS setting alike):

* `secret-env=VAR`: ClientSecretCredential; the secret is read from environment variable VAR (never typed
  on a command line, never stored in a setting).
* `cert=PATH`: CertificateCredential (PEM or PKCS#12 with the private key).
* `federated-token-file=PATH`: WorkloadIdentityCredential (Kubernetes, GitHub OIDC …).
* `managed-identity=MI_CLIENT_ID`: in Azure, the user-assigned managed identity's token is the assertion
  of ClientAssertionCredential for the app registration in the external tenant (a federated identity
  credential on that app), so no secret exists anywhere.
* a bare CLIENT_ID: the ambient identity (DefaultAzureCredential: `az login --tenant …`, environment);
  allowed for one lane only, since two lanes on one identity share one quota.

Errors: `CredentialConfigError` (one line: what is wrong and how to write it). Every credential gets the
tenant (`--tenant`/TENANT_ID) and, for a rehearsal, an authority and transport that reach the emulator.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from azure.core.credentials import AccessToken
from azure.core.credentials_async import AsyncTokenCredential
from azure.core.pipeline.transport import AsyncHttpTransport

FEDERATION_SCOPE = "api://AzureADTokenExchange/.default"
_KEYS = {"secret-env", "cert", "cert-password-env", "federated-token-file", "managed-identity"}


class CredentialConfigError(ValueError):
    """An app registration's credential is mis-specified, or two lanes would share one identity."""


@dataclass(frozen=True)
class AppRegistration:
    client_id: str
    secret_env: str | None = None
    certificate_path: str | None = None
    certificate_password_env: str | None = None
    federated_token_file: str | None = None
    managed_identity_client_id: str | None = None

    @classmethod
    def parse(cls, text: str) -> AppRegistration:
        client_id, *options = [part.strip() for part in text.strip().split(":")]
        if not client_id:
            raise CredentialConfigError(f"--app {text!r}: the client id is missing (CLIENT_ID[:secret-env=VAR])")
        values: dict[str, str] = {}
        for option in options:
            key, sep, value = option.partition("=")
            if not sep or key not in _KEYS or not value:
                raise CredentialConfigError(
                    f"--app {client_id}: {option!r} is not one of {', '.join(sorted(k + '=…' for k in _KEYS))}"
                )
            values[key] = value
        app = cls(
            client_id=client_id, secret_env=values.get("secret-env"), certificate_path=values.get("cert"),
            certificate_password_env=values.get("cert-password-env"),
            federated_token_file=values.get("federated-token-file"),
            managed_identity_client_id=values.get("managed-identity"),
        )  # fmt: skip
        kinds = [k for k in ("secret-env", "cert", "federated-token-file", "managed-identity") if k in values]
        if len(kinds) > 1:
            raise CredentialConfigError(f"--app {client_id}: choose one credential, not {' and '.join(kinds)}")
        if app.certificate_password_env and not app.certificate_path:
            raise CredentialConfigError(f"--app {client_id}: cert-password-env= needs cert=PATH")
        return app

    @property
    def kind(self) -> str:
        if self.secret_env:
            return "client secret"
        if self.certificate_path:
            return "certificate"
        if self.federated_token_file:
            return "workload identity"
        if self.managed_identity_client_id:
            return "managed identity (federated)"
        return "ambient"


def parse_apps(values: Sequence[str], *, emulator: bool = False) -> list[AppRegistration]:
    """The lanes, refused when two would share one identity (same client id, or several ambient lanes).

    `emulator`: against the tenant emulator a bare id is its own identity (an unsigned token naming it).
    """
    apps = [AppRegistration.parse(v) for v in values]
    seen: set[str] = set()
    for app in apps:
        if app.client_id.lower() in seen:
            raise CredentialConfigError(f"--app {app.client_id} is given twice; each lane needs its own app")
        seen.add(app.client_id.lower())
    ambient = [a.client_id for a in apps if a.kind == "ambient"]
    if len(apps) > 1 and ambient and not emulator:
        raise CredentialConfigError(
            f"--app {ambient[0]} has no credential of its own, so several lanes would share one identity and one "
            "Graph quota; give each lane its own: --app ID:secret-env=VAR, :cert=PATH, :federated-token-file=PATH "
            "or :managed-identity=MI_CLIENT_ID"
        )
    return apps


def token_app_id(token: str) -> str | None:
    """The `appid` (v1) or `azp` (v2) claim of an access token, unverified: which app Graph will count."""
    try:
        payload = token.split(".")[1]
        claims: Any = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    if not isinstance(claims, dict):
        return None
    app_id = claims.get("appid") or claims.get("azp")
    return str(app_id) if app_id else None


def token_roles(token: str) -> list[str] | None:
    """The `roles` claim (the app's consented application permissions), None when the token has none."""
    try:
        payload = token.split(".")[1]
        claims: Any = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    roles = claims.get("roles") if isinstance(claims, dict) else None
    return [str(r) for r in roles] if isinstance(roles, list) else None


def build_credential(
    app: AppRegistration,
    *,
    tenant_id: str,
    secret_lookup: Callable[[str], str | None],
    authority: str | None = None,
    transport: AsyncHttpTransport[Any, Any] | None = None,
) -> AsyncTokenCredential:
    """The azure-identity credential for one lane. `secret_lookup(VAR)` reads a named environment variable."""
    from azure.identity.aio import (
        CertificateCredential,
        ClientSecretCredential,
        DefaultAzureCredential,
        ManagedIdentityCredential,
        WorkloadIdentityCredential,
    )

    common: dict[str, Any] = {}
    if authority:
        common["authority"] = authority
    if transport is not None:
        common["transport"] = transport
    if app.secret_env:
        secret = secret_lookup(app.secret_env)
        if not secret:
            raise CredentialConfigError(
                f"--app {app.client_id}: environment variable {app.secret_env} is not set (it holds the client secret)"
            )
        return ClientSecretCredential(tenant_id, app.client_id, secret, **common)
    if app.certificate_path:
        password = secret_lookup(app.certificate_password_env) if app.certificate_password_env else None
        try:
            return CertificateCredential(
                tenant_id, app.client_id, app.certificate_path, password=password, **common
            )  # fmt: skip
        except (OSError, ValueError) as exc:
            raise CredentialConfigError(
                f"--app {app.client_id}: cannot read certificate {app.certificate_path} ({type(exc).__name__}); "
                "it must be PEM or PKCS#12 with the private key"
            ) from None
    if app.federated_token_file:
        return WorkloadIdentityCredential(
            tenant_id=tenant_id, client_id=app.client_id, token_file_path=app.federated_token_file, **common
        )
    if app.managed_identity_client_id:
        identity = ManagedIdentityCredential(client_id=app.managed_identity_client_id)
        return ManagedIdentityAssertion(identity, tenant_id, app.client_id, common)
    return DefaultAzureCredential(additionally_allowed_tenants=[tenant_id], **common)


class ManagedIdentityAssertion(AsyncTokenCredential):
    """ClientAssertionCredential for the external tenant's app, its assertion a managed identity's token.

    ClientAssertionCredential takes a *synchronous* callable; the managed identity is async, so the assertion
    is fetched before each token request and handed over (it is valid for about an hour).
    """

    def __init__(self, identity: AsyncTokenCredential, tenant_id: str, client_id: str, common: dict[str, Any]) -> None:
        from azure.identity.aio import ClientAssertionCredential

        self._identity = identity
        self._assertion = ""
        self._inner = ClientAssertionCredential(tenant_id, client_id, lambda: self._assertion, **common)

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self._assertion = (await self._identity.get_token(FEDERATION_SCOPE)).token
        return await self._inner.get_token(*scopes, **kwargs)

    async def close(self) -> None:
        await self._inner.close()
        await self._identity.close()

    async def __aexit__(self, *args: object) -> None:
        await self.close()
