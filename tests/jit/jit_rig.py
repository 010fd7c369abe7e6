"""Helpers for the JIT tests (imported by conftest and tests): a fake Entra tenant that builds tokens and
OnPasswordSubmit requests as Microsoft's JIT migration guide shows them, and a handle on the service under test."""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt
from joserfc import jwe, jwt
from joserfc.jwk import RSAKey
from pydantic import SecretStr

from shared.config import ENTRA_EVENTS_APP_ID
from shared.jit.service import JitService
from shared.ports import StoredCredential
from shared.records import PasswordHash
from shared.telemetry import TallyTelemetry
from shared.vault import SqliteCredentialVault

TENANT_ID = "aaaabbbb-0000-cccc-1111-dddd2222eeee"
EXTENSION_APP_ID = "11112222-bbbb-3333-cccc-4444dddd5555"
AUDIENCE = f"api://jit.example.test/{EXTENSION_APP_ID}"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class FakeTenant:
    """Builds what Entra would send. `issuer` is filled once the loopback server has a port."""

    signing_key: RSAKey
    encryption_key: RSAKey
    issuer: str = ""
    authority: str = ""
    metadata_fetches: int = 0
    jwks_fetches: int = 0
    extra_keys: list[dict[str, Any]] = field(default_factory=list)

    def token(self, *, key: RSAKey | None = None, header: dict[str, Any] | None = None, **claims: Any) -> str:
        now = int(time.time())
        payload: dict[str, Any] = {
            "aud": AUDIENCE,
            "iss": self.issuer,
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "azp": ENTRA_EVENTS_APP_ID,
            "tid": TENANT_ID,
            "ver": "2.0",
        }
        payload.update(claims)
        for name in [n for n, v in payload.items() if v is None]:
            del payload[name]
        return jwt.encode(
            header or {"alg": "RS256", "kid": "entra-sig-1", "typ": "JWT"}, payload, key or self.signing_key
        )

    def password_context(
        self,
        password: str,
        nonce: str | None,
        *,
        username: str = "casey@contoso.com",
        alg: str = "RSA-OAEP-256",
        enc: str = "A256GCM",
        key: RSAKey | None = None,
    ) -> str:
        claims: dict[str, Any] = {"user-password": password, "username": username}
        if nonce is not None:
            claims["nonce"] = nonce
        unsigned_header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
        inner = f"{unsigned_header}.{b64url(json.dumps(claims).encode())}."
        return jwe.encrypt_compact(
            {"alg": alg, "enc": enc}, inner.encode(), key or self.encryption_key, algorithms=[alg, enc]
        )

    def body(
        self,
        object_id: str,
        password: str,
        *,
        nonce: str | None = "nonce-1",
        correlation_id: str | None = None,
        context: str | None = None,
        **context_options: Any,
    ) -> bytes:
        """The request payload from Microsoft's guide (how-to-migrate-users-jit.md), with our values."""
        encrypted = context or self.password_context(password, nonce, **context_options)
        payload = {
            "type": "microsoft.graph.authenticationEvent.passwordSubmit",
            "source": f"/tenants/{TENANT_ID}/applications/{EXTENSION_APP_ID}",
            "data": {
                "@odata.type": "microsoft.graph.onPasswordSubmitCalloutData",
                "tenantId": TENANT_ID,
                "authenticationEventListenerId": "11112222-bbbb-3333-cccc-4444dddd5555",
                "customAuthenticationExtensionId": "22223333-cccc-4444-dddd-5555eeee6666",
                "encryptedPasswordContext": encrypted,
                "authenticationContext": {
                    "correlationId": correlation_id or str(uuid.uuid4()),
                    "client": {"ip": "127.0.0.1", "locale": "en-us", "market": "en-us"},
                    "protocol": "OAUTH2.0",
                    "clientServicePrincipal": {
                        "id": "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb",
                        "appId": "00001111-aaaa-2222-bbbb-3333cccc4444",
                        "appDisplayName": "My Test application",
                        "displayName": "My Test application",
                    },
                    "resourceServicePrincipal": {
                        "id": "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb",
                        "appId": "00001111-aaaa-2222-bbbb-3333cccc4444",
                        "appDisplayName": "My Test application",
                        "displayName": "My Test application",
                    },
                    "user": {
                        "displayName": "Casey Jensen",
                        "givenName": "Casey",
                        "id": object_id,
                        "mail": "casey@contoso.com",
                        "surname": "Jensen",
                        "userPrincipalName": f"{object_id}@contoso.onmicrosoft.com",
                        "userType": "Member",
                    },
                },
            },
        }
        return json.dumps(payload).encode()


def bcrypt_hash(password: str, cost: int = 4) -> PasswordHash:
    return PasswordHash(
        algorithm="bcrypt", value=SecretStr(bcrypt.hashpw(password.encode(), bcrypt.gensalt(cost)).decode())
    )


def credential(object_id: str, h: PasswordHash, *, disabled: bool = False) -> StoredCredential:
    return StoredCredential(
        object_id=object_id, source="auth0", legacy_id=f"auth0|{object_id}", password_hash=h, disabled=disabled
    )


@dataclass
class Rig:
    service: JitService
    tenant: FakeTenant
    vault: SqliteCredentialVault
    telemetry: TallyTelemetry
    verifications: list[str]
    state_dir: Path

    async def call(
        self, body: bytes, *, token: str | None = None, authorization: str | None = None
    ) -> tuple[int, dict[str, Any] | bytes]:
        auth = authorization if authorization is not None else f"Bearer {token or self.tenant.token()}"

        async def read_body(limit: int) -> bytes:
            return body

        answer = await self.service.handle(auth, len(body), read_body)
        try:
            return answer.status, json.loads(answer.body)
        except ValueError:
            return answer.status, answer.body
