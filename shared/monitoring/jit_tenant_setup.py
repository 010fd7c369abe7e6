"""The Graph calls that switch on just-in-time migration in a tenant (Microsoft's JIT guide, steps 1 and 3–5),
against Entra or the emulator: the migration flag, the extension app with its encryption certificate, the
custom authentication extension and the OnPasswordSubmit listener. Idempotence is the caller's: each call
creates a new object. Errors raise JitSetupError with Graph's status and error code (no request body).
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


class JitSetupError(Exception):
    """A Graph call of the JIT setup failed: fix the permission or value it names, then run the setup again."""


@dataclass(frozen=True)
class EncryptionCertificate:
    """A self-signed `CN=JitMigration` certificate: its base64 DER goes on the app, the PEM key to the endpoint."""

    der_base64: str
    private_key_pem: bytes

    @classmethod
    def generate(cls, *, days: int = 365) -> EncryptionCertificate:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "JitMigration")])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days))
            .sign(key, hashes.SHA256())
        )
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return cls(base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode(), pem)


@dataclass(frozen=True)
class JitTenantConfig:
    flag_attribute: str  # extension_<appId>_toBeMigrated
    extension_app_id: str
    audience: str  # the extension app's identifier URI
    extension_id: str
    listener_id: str


async def _call(client: httpx.AsyncClient, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    response = await client.request(method, path, json=body)
    if response.status_code >= 400:
        try:
            code = response.json()["error"]["code"]
        except (ValueError, KeyError, TypeError):
            code = "unknown"
        raise JitSetupError(f"{method} {path} failed: HTTP {response.status_code} {code}")
    return response.json() if response.content else None


async def configure_jit(
    client: httpx.AsyncClient,
    *,
    target_url: str,
    customer_app_ids: list[str],
    certificate: EncryptionCertificate,
    api_host: str = "jit.ciam-migrate.local",
    flag_name: str = "toBeMigrated",
    timeout_ms: int = 2000,
    max_retries: int = 1,
) -> JitTenantConfig:
    """`client` has Graph's base URL (…/v1.0 or …/beta) and a token with Application.ReadWrite.All and
    CustomAuthenticationExtension.ReadWrite.All. Returns what the endpoint's JIT settings need."""
    apps = await _call(client, "GET", "/applications")
    extensions_app = next((a for a in apps["value"] if a["displayName"].startswith("b2c-extensions-app")), None)
    if extensions_app is None:
        raise JitSetupError("the tenant has no b2c-extensions-app")
    flag = f"extension_{extensions_app['appId'].replace('-', '')}_{flag_name}"
    existing = await _call(client, "GET", f"/applications/{extensions_app['id']}/extensionProperties")
    if not any(p["name"] == flag for p in existing["value"]):
        await _call(
            client,
            "POST",
            f"/applications/{extensions_app['id']}/extensionProperties",
            {"name": flag_name, "dataType": "Boolean", "targetObjects": ["User"]},
        )
    app = await _call(client, "POST", "/applications", {"displayName": "ciam-migrate JIT extension"})
    audience = f"api://{api_host}/{app['appId']}"
    key_id = str(uuid.uuid4())
    await _call(
        client,
        "PATCH",
        f"/applications/{app['id']}",
        {
            "identifierUris": [audience],
            "keyCredentials": [
                {
                    "type": "AsymmetricX509Cert",
                    "usage": "Encrypt",
                    "key": certificate.der_base64,
                    "keyId": key_id,
                    "displayName": "CN=JitMigration",
                }
            ],
            "tokenEncryptionKeyId": key_id,
        },
    )
    extension = await _call(
        client,
        "POST",
        "/identity/customAuthenticationExtensions",
        {
            "@odata.type": "#microsoft.graph.onPasswordSubmitCustomExtension",
            "displayName": "ciam-migrate password migration",
            "endpointConfiguration": {"@odata.type": "#microsoft.graph.httpRequestEndpoint", "targetUrl": target_url},
            "authenticationConfiguration": {
                "@odata.type": "#microsoft.graph.azureAdTokenAuthentication",
                "resourceId": audience,
            },
            "clientConfiguration": {"timeoutInMilliseconds": timeout_ms, "maximumRetries": max_retries},
        },
    )
    listener = await _call(
        client,
        "POST",
        "/identity/authenticationEventListeners",
        {
            "@odata.type": "#microsoft.graph.onPasswordSubmitListener",
            "conditions": {"applications": {"includeApplications": [{"appId": a} for a in customer_app_ids]}},
            "handler": {
                "@odata.type": "#microsoft.graph.onPasswordMigrationCustomExtensionHandler",
                "migrationPropertyId": flag,
                "customExtension": {"id": extension["id"]},
            },
        },
    )
    return JitTenantConfig(flag, app["appId"], audience, extension["id"], listener["id"])
