"""One credential per app registration ("lane"), for the target tenant, through azure-identity.

An app is written `CLIENT_ID[:secret-env=VAR|:secret-keyvault=URL|:cert=PATH[:cert-password-env=VAR]|
:federated-token-file=PATH|:managed-identity=MI_CLIENT_ID]` (the `--app` option, the APP_IDS setting and
the `[[apps]]` tables of an apps file, shared/apps_file.py, alike):

* `secret-env=VAR`: ClientSecretCredential; the secret is read from environment variable VAR (never typed
  on a command line, never stored in a setting).
* `secret-keyvault=https://<vault>.vault.azure.net/secrets/<name>`: the same, the secret read from Key Vault
  (Get Secret, azure-docs key-vault REST) with the operator's ambient identity when the first token is asked.
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
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from azure.core.credentials import AccessToken
from azure.core.credentials_async import AsyncTokenCredential
from azure.core.pipeline.transport import AsyncHttpTransport

FEDERATION_SCOPE = "api://AzureADTokenExchange/.default"
_KEYS = {"secret-env", "secret-keyvault", "cert", "cert-password-env", "federated-token-file", "managed-identity"}
_CREDENTIAL_KEYS = ("secret-env", "secret-keyvault", "cert", "federated-token-file", "managed-identity")
# An option starts at a ':' followed by a known key and '=', so a Key Vault URL or a C:\ path keeps its colons.
_OPTION_START = re.compile(":(?=(?:" + "|".join(sorted(_KEYS, key=len, reverse=True)) + ")=)")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
KEYVAULT_SECRET_URL = re.compile(r"^https://[A-Za-z0-9-]+\.vault\.azure\.net/secrets/[A-Za-z0-9-]+(/[0-9a-f]{32})?$")
KEYVAULT_SCOPE = "https://vault.azure.net/.default"


class CredentialConfigError(ValueError):
    """An app registration's credential is mis-specified, or two lanes would share one identity."""


@dataclass(frozen=True)
class AppRegistration:
    client_id: str
    secret_env: str | None = None
    secret_keyvault: str | None = None
    certificate_path: str | None = None
    certificate_password_env: str | None = None
    federated_token_file: str | None = None
    managed_identity_client_id: str | None = None

    @classmethod
    def parse(cls, text: str) -> AppRegistration:
        head, _, rest = text.strip().partition(":")
        client_id = head.strip()
        if not client_id:
            raise CredentialConfigError(f"--app {text!r}: the client id is missing (CLIENT_ID[:secret-env=VAR])")
        options = _OPTION_START.split(":" + rest)[1:] if rest else []
        if rest and not options:
            options = [rest]
        values: dict[str, str] = {}
        for option in (o.strip() for o in options):
            key, sep, value = option.partition("=")
            if not sep or key not in _KEYS or not value:
                raise CredentialConfigError(
                    f"--app {client_id}: {option!r} is not one of {', '.join(sorted(k + '=…' for k in _KEYS))}"
                )
            values[key] = value
        app = cls(
            client_id=client_id, secret_env=values.get("secret-env"), secret_keyvault=values.get("secret-keyvault"),
            certificate_path=values.get("cert"), certificate_password_env=values.get("cert-password-env"),
            federated_token_file=values.get("federated-token-file"),
            managed_identity_client_id=values.get("managed-identity"),
        )  # fmt: skip
        kinds = [k for k in _CREDENTIAL_KEYS if k in values]
        if len(kinds) > 1:
            raise CredentialConfigError(f"--app {client_id}: choose one credential, not {' and '.join(kinds)}")
        if app.certificate_password_env and not app.certificate_path:
            raise CredentialConfigError(f"--app {client_id}: cert-password-env= needs cert=PATH")
        for key in ("secret-env", "cert-password-env"):
            if key in values and not _ENV_NAME.match(values[key]):
                raise CredentialConfigError(f"--app {client_id}: {key}= takes an environment variable name")
        if app.secret_keyvault and not KEYVAULT_SECRET_URL.match(app.secret_keyvault):
            raise CredentialConfigError(
                f"--app {client_id}: secret-keyvault= takes a secret URL, https://<vault>.vault.azure.net/secrets/<name>"
            )
        return app

    @property
    def kind(self) -> str:
        if self.secret_env:
            return "client secret"
        if self.secret_keyvault:
            return "client secret (Key Vault)"
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
    keyvault_lookup: Callable[[str], Awaitable[str]] | None = None,
) -> AsyncTokenCredential:
    """The azure-identity credential for one lane. `secret_lookup(VAR)` reads a named environment variable;
    `keyvault_lookup(URL)` a Key Vault secret (default: Get Secret with the ambient Azure identity)."""
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
    if app.secret_keyvault:
        client_id, url = app.client_id, app.secret_keyvault

        def with_secret(secret: str) -> AsyncTokenCredential:
            return ClientSecretCredential(tenant_id, client_id, secret, **common)

        return KeyVaultSecretCredential(client_id, url, with_secret, keyvault_lookup or read_keyvault_secret)
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


class KeyVaultSecretCredential(AsyncTokenCredential):
    """A client-secret credential whose secret is read from Key Vault once, when the first token is asked."""

    def __init__(
        self,
        client_id: str,
        url: str,
        with_secret: Callable[[str], AsyncTokenCredential],
        lookup: Callable[[str], Awaitable[str]],
    ) -> None:
        self._client_id, self._url = client_id, url
        self._with_secret, self._lookup = with_secret, lookup
        self._inner: AsyncTokenCredential | None = None

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        if self._inner is None:
            try:
                secret = await self._lookup(self._url)
            except Exception as exc:  # the vault's text may echo the URL only; keep the type, never a value
                raise CredentialConfigError(
                    f"--app {self._client_id}: cannot read the Key Vault secret {self._url} ({type(exc).__name__}); "
                    "grant your identity 'Key Vault Secrets User' on the vault, or `az login`"
                ) from None
            self._inner = self._with_secret(secret)
        return await self._inner.get_token(*scopes, **kwargs)

    async def close(self) -> None:
        if self._inner is not None:
            await self._inner.close()

    async def __aexit__(self, *args: object) -> None:
        await self.close()


async def read_keyvault_secret(url: str) -> str:
    """Key Vault Get Secret (`GET {secret URL}?api-version=7.4`, answer `{"value": …}`) as the ambient identity."""
    import httpx
    from azure.identity.aio import DefaultAzureCredential

    async with DefaultAzureCredential() as identity:
        token = await identity.get_token(KEYVAULT_SCOPE)
    async with httpx.AsyncClient(timeout=30) as http:
        answer = await http.get(url, params={"api-version": "7.4"}, headers={"Authorization": f"Bearer {token.token}"})
    answer.raise_for_status()
    value = answer.json().get("value")
    if not isinstance(value, str) or not value:
        raise ValueError("the secret has no value")
    return value
