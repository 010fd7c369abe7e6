"""The Microsoft identity platform's client-credentials grant, for the app registrations in `client_apps`.

`POST /{tenant}/oauth2/v2.0/token` (form: grant_type=client_credentials, client_id, scope, and either
client_secret or client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer +
client_assertion) → `{"token_type": "Bearer", "expires_in", "access_token"}`, as azure-identity's
ClientSecretCredential, CertificateCredential, ClientAssertionCredential and WorkloadIdentityCredential
send and parse it. The access token is HS256-signed with this emulator's own key and carries `appid`,
`azp`, `tid` and `roles` (the app's granted permissions). With `client_apps` configured the Graph side
accepts only tokens it issued (TokenSigner.verify), so every request's app id is one a credential proved.

Errors (AADSTS codes as Entra answers them): unknown tenant 400 invalid_request AADSTS90002; unknown
client 400 unauthorized_client AADSTS700016; wrong secret 401 invalid_client AADSTS7000215; bad
assertion 401 invalid_client AADSTS700027 (certificate) / AADSTS70021 (no matching federated credential).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from aiohttp import web
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from emulator.config import ClientApp, EmulatorConfig

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_LIFETIME_S = 3600
FEDERATION_AUDIENCE = "api://AzureADTokenExchange"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenRejected(Exception):
    """The token was not issued by this emulator (or has expired). str() is Graph's message."""


class TokenSigner:
    """HS256 tokens under a key only this emulator process knows."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def sign(self, claims: dict[str, Any]) -> str:
        head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = b64url(json.dumps(claims, separators=(",", ":")).encode())
        mac = hmac.new(self._key, f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"{head}.{body}.{b64url(mac)}"

    def verify(self, token: str) -> dict[str, Any]:
        parts = token.split(".")
        if len(parts) != 3:
            raise TokenRejected("IDX14100: JWT is not well formed, there are no dots (.).")
        expected = hmac.new(self._key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        try:
            good = hmac.compare_digest(expected, b64url_decode(parts[2]))
            claims = json.loads(b64url_decode(parts[1]))
        except (ValueError, binascii.Error) as exc:
            raise TokenRejected("IDX10511: Signature validation failed.") from exc
        if not good or not isinstance(claims, dict):
            raise TokenRejected("IDX10511: Signature validation failed. The token was not issued by this tenant.")
        if float(claims.get("exp", 0)) < time.time():
            raise TokenRejected("Lifetime validation failed, the token is expired.")
        return claims


def _aad_error(status: int, error: str, code: int, description: str) -> web.Response:
    body = {"error": error, "error_description": f"AADSTS{code}: {description}", "error_codes": [code]}
    return web.json_response(body, status=status)


def _unverified_claims(jwt: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    head, body, sig = jwt.split(".")
    return (
        json.loads(b64url_decode(head)),
        json.loads(b64url_decode(body)),
        f"{head}.{body}".encode(),
        b64url_decode(sig),
    )


def _certificate_assertion_ok(app: ClientApp, header: dict[str, Any], signed: bytes, signature: bytes) -> bool:
    if not app.certificate_pem:
        return False
    cert = x509.load_pem_x509_certificate(app.certificate_pem.encode())
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        return False
    hash_alg = hashes.SHA256()
    pad: padding.AsymmetricPadding
    if header.get("alg") == "PS256":
        pad = padding.PSS(mgf=padding.MGF1(hash_alg), salt_length=hash_alg.digest_size)
    elif header.get("alg") == "RS256":
        pad = padding.PKCS1v15()
    else:
        return False
    try:
        key.verify(signature, signed, pad, hash_alg)
    except InvalidSignature:
        return False
    return True


class IdentityPlatform:
    def __init__(self, config: EmulatorConfig, signer: TokenSigner) -> None:
        self.config = config
        self.signer = signer
        self.apps = {a.client_id.lower(): a for a in config.client_apps}
        self.issued: dict[str, int] = {}  # tokens issued per client id

    def _known_tenant(self, tenant: str) -> bool:
        return tenant.lower() in {self.config.tenant.lower(), self.config.tenant_id.lower()}

    async def token(self, request: web.Request) -> web.Response:
        tenant = request.match_info["tenant"]
        form = await request.post()
        if not self._known_tenant(tenant):
            return _aad_error(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
        if form.get("grant_type") != "client_credentials":
            return _aad_error(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
        client_id = str(form.get("client_id") or "")
        app = self.apps.get(client_id.lower())
        if app is None:
            return _aad_error(400, "unauthorized_client", 700016,
                              f"Application with identifier '{client_id}' was not found in the directory.")  # fmt: skip
        secret = form.get("client_secret")
        assertion = form.get("client_assertion")
        if secret is not None:
            if app.secret is None or not hmac.compare_digest(str(secret), app.secret):
                return _aad_error(401, "invalid_client", 7000215, "Invalid client secret provided.")
        elif assertion is not None and form.get("client_assertion_type") == JWT_BEARER:
            refusal = self._check_assertion(app, str(assertion), tenant)
            if refusal is not None:
                return refusal
        else:
            return _aad_error(401, "invalid_client", 7000218,
                              "The request body must contain: 'client_assertion' or 'client_secret'.")  # fmt: skip
        now = int(time.time())
        scope = str(form.get("scope") or "")
        claims = {
            "aud": scope.removesuffix("/.default"), "iss": f"https://sts.windows.net/{self.config.tenant_id}/",
            "iat": now, "nbf": now, "exp": now + TOKEN_LIFETIME_S, "appid": app.client_id, "azp": app.client_id,
            "tid": self.config.tenant_id, "roles": list(app.permissions), "idtyp": "app",
        }  # fmt: skip
        self.issued[app.client_id] = self.issued.get(app.client_id, 0) + 1
        body = {"token_type": "Bearer", "expires_in": TOKEN_LIFETIME_S, "ext_expires_in": TOKEN_LIFETIME_S,
                "access_token": self.signer.sign(claims)}  # fmt: skip
        return web.json_response(body)

    def _check_assertion(self, app: ClientApp, assertion: str, tenant: str) -> web.Response | None:
        try:
            header, claims, signed, signature = _unverified_claims(assertion)
        except (ValueError, binascii.Error):
            return _aad_error(401, "invalid_client", 50027, "JWT token is invalid or malformed.")
        if float(claims.get("exp", 0)) < time.time():
            return _aad_error(401, "invalid_client", 700024, "Client assertion is not within its valid time range.")
        if "x5t#S256" in header or "x5t" in header:  # a certificate credential signs its own assertion
            if claims.get("iss") != app.client_id or claims.get("sub") != app.client_id:
                return _aad_error(401, "invalid_client", 700021, "Client assertion application identifier mismatch.")
            if not _certificate_assertion_ok(app, header, signed, signature):
                return _aad_error(401, "invalid_client", 700027, "Client assertion failed signature validation.")
            return None
        # A federated assertion (workload identity, a managed identity's token): issuer + subject + audience.
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        for fic in app.federated:
            if claims.get("iss") == fic.issuer and claims.get("sub") == fic.subject and fic.audience in audiences:
                return None
        return _aad_error(401, "invalid_client", 70021,
                          "No matching federated identity record found for presented assertion.")  # fmt: skip


def add_token_routes(app: web.Application, platform: IdentityPlatform) -> None:
    app.router.add_post("/{tenant}/oauth2/v2.0/token", platform.token)
