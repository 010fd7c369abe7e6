"""Entra's call to a custom authentication extension (OnPasswordSubmit), made by the emulator.

In: the user, the typed password, the listener and extension configured through Graph. Out: a CalloutResult —
the action the endpoint answered (MigratePassword, UpdatePassword, Retry, Block) or the error code Entra logs
(1003002 bad HTTP status, 1003003 bad body or nonce, 1003004 throttled, 1003005 timeout, 1003001 anything else).
The request is what Entra sends: a bearer token signed by the emulator's own key (published as OIDC metadata
under its authority, see callout_keys), `aud` the extension's resourceId, `azp` Entra's authentication events
app, and `encryptedPasswordContext` as an RSA-OAEP-256 / A256GCM JWE to the extension app's encryption
certificate. Each attempt waits at most the extension's timeout; a timeout, connection error or 5xx is retried
`maximumRetries` times with a new nonce and the same correlation id; at most `callouts_per_second` calls leave
the tenant per second (the excess fails at once with 1003004, as Entra's own throttling does).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp
from joserfc import jwe
from joserfc.jwk import RSAKey

from emulator.callout_config import encryption_certificate
from emulator.callout_keys import CalloutKeys
from emulator.core import EmulatedTenant
from emulator.signin_sim_config import (
    CALLOUT_INVALID_BODY,
    CALLOUT_INVALID_STATUS,
    CALLOUT_THROTTLED,
    CALLOUT_TIMEOUT,
    CALLOUT_UNEXPECTED,
)

ACTION_PREFIX = "microsoft.graph.passwordSubmit."
ACTIONS = frozenset({"MigratePassword", "UpdatePassword", "Retry", "Block"})
JWE_ALG, JWE_ENC = "RSA-OAEP-256", "A256GCM"


@dataclass(frozen=True)
class CalloutResult:
    extension_id: str
    listener_id: str
    called_at: str
    action: str | None  # one of ACTIONS, or None when the call failed
    error_code: int  # 0 when an action came back
    http_status: int  # 0 when no answer arrived
    attempts: int
    latency_ms: float

    def handler_result(self) -> dict[str, Any]:
        """`appliedEventListeners[].handlerResult` of the sign-in log (beta customExtensionCalloutResult)."""
        return {
            "@odata.type": "#microsoft.graph.customExtensionCalloutResult",
            "customExtensionId": self.extension_id,
            "calloutDateTime": self.called_at,
            "numberOfAttempts": self.attempts,
            "httpStatus": self.http_status,
            "errorCode": self.error_code,
        }


class CalloutRate:
    """Token bucket of `per_second` calls (burst the same), shared by every extension of the tenant."""

    def __init__(self, per_second: float) -> None:
        self.per_second = per_second
        self._tokens = per_second
        self._at = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self.per_second, self._tokens + (now - self._at) * self.per_second)
        self._at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


@dataclass(frozen=True)
class CalloutUser:
    id: str
    mail: str | None
    display_name: str | None
    user_principal_name: str


class ExtensionCaller:
    def __init__(self, tenant: EmulatedTenant, keys: CalloutKeys) -> None:
        self._tenant = tenant
        self._keys = keys
        # 50 per second is a count per 1 s window: like every emulator quota, the window shrinks with --time-scale.
        self.rate = CalloutRate(tenant.config.sign_ins.callouts_per_second * tenant.config.time_scale)
        self._session: aiohttp.ClientSession | None = None
        self.calls = 0  # HTTP requests sent to extensions (tests and stats)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(
        self,
        listener: dict[str, Any],
        user: CalloutUser,
        username: str,
        password: str,
        *,
        app_id: str | None,
        correlation_id: str,
        ip_address: str,
        authority: str,
    ) -> CalloutResult:
        extension_id = str(listener["handler"]["customExtension"]["id"])
        extension = self._tenant.callouts.extensions.get(extension_id)
        called_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        started = time.perf_counter()

        def result(action: str | None, code: int, status: int, attempts: int) -> CalloutResult:
            return CalloutResult(
                extension_id,
                str(listener["id"]),
                called_at,
                action,
                code,
                status,
                attempts,
                (time.perf_counter() - started) * 1000,
            )

        if extension is None:
            return result(None, CALLOUT_UNEXPECTED, 0, 0)
        resource_id = str(extension["authenticationConfiguration"]["resourceId"])
        certificate = encryption_certificate(self._tenant, resource_id)
        if certificate is None:
            return result(None, CALLOUT_UNEXPECTED, 0, 0)
        if not self.rate.take():
            return result(None, CALLOUT_THROTTLED, 0, 0)
        encryption_key = RSAKey.import_key(certificate.public_key())  # type: ignore[arg-type]
        client = extension.get("clientConfiguration") or {}
        sim = self._tenant.config.sign_ins
        timeout_s = min(int(client.get("timeoutInMilliseconds", sim.callout_timeout_ms)), sim.callout_timeout_ms) / 1000
        retries = min(int(client.get("maximumRetries", sim.callout_max_retries)), sim.callout_max_retries)
        url = str(extension["endpointConfiguration"]["targetUrl"])
        session = self._session_for()
        code, status, attempts = CALLOUT_UNEXPECTED, 0, 0
        for _ in range(retries + 1):
            attempts += 1
            nonce = secrets.token_urlsafe(16)
            context = _password_context(encryption_key, password, username, nonce)
            body = _request_body(
                self._tenant.config.tenant_id,
                listener,
                extension_id,
                context,
                user,
                app_id=app_id,
                correlation_id=correlation_id,
                ip_address=ip_address,
            )
            token = self._keys.token(authority=authority, audience=resource_id, tenant_id=self._tenant.config.tenant_id)
            self.calls += 1
            try:
                async with session.post(
                    url,
                    data=body,
                    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                    timeout=aiohttp.ClientTimeout(total=timeout_s),
                ) as response:
                    status = response.status
                    raw = await response.read()
            except TimeoutError:
                code, status = CALLOUT_TIMEOUT, 0
                continue
            except aiohttp.ClientError:
                code, status = CALLOUT_UNEXPECTED, 0
                continue
            if status >= 500:
                code = CALLOUT_INVALID_STATUS
                continue
            if status != 200:
                return result(None, CALLOUT_INVALID_STATUS, status, attempts)
            action = _action(raw, nonce)
            if action is None:
                return result(None, CALLOUT_INVALID_BODY, status, attempts)
            return result(action, 0, status, attempts)
        return result(None, code, status, attempts)

    def _session_for(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _password_context(key: RSAKey, password: str, username: str, nonce: str) -> str:
    """An unsigned inner JWT (`alg: none`) with user-password, username and nonce, encrypted as a JWE."""
    claims = {"user-password": password, "username": username, "nonce": nonce}
    inner = f"{_b64url(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{_b64url(json.dumps(claims).encode())}."
    return jwe.encrypt_compact({"alg": JWE_ALG, "enc": JWE_ENC}, inner.encode(), key, algorithms=[JWE_ALG, JWE_ENC])


def _request_body(
    tenant_id: str,
    listener: dict[str, Any],
    extension_id: str,
    context: str,
    user: CalloutUser,
    *,
    app_id: str | None,
    correlation_id: str,
    ip_address: str,
) -> bytes:
    principal = {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, app_id or "none")),
        "appId": app_id,
        "appDisplayName": "Customer application",
        "displayName": "Customer application",
    }
    payload = {
        "type": "microsoft.graph.authenticationEvent.passwordSubmit",
        "source": f"/tenants/{tenant_id}/applications/{app_id}",
        "data": {
            "@odata.type": "microsoft.graph.onPasswordSubmitCalloutData",
            "tenantId": tenant_id,
            "authenticationEventListenerId": listener["id"],
            "customAuthenticationExtensionId": extension_id,
            "encryptedPasswordContext": context,
            "authenticationContext": {
                "correlationId": correlation_id,
                "client": {"ip": ip_address, "locale": "en-us", "market": "en-us"},
                "protocol": "OAUTH2.0",
                "clientServicePrincipal": principal,
                "resourceServicePrincipal": principal,
                "user": {
                    "id": user.id,
                    "mail": user.mail,
                    "displayName": user.display_name,
                    "userPrincipalName": user.user_principal_name,
                    "userType": "Member",
                },
            },
        },
    }
    return json.dumps(payload).encode()


def _action(raw: bytes, nonce: str) -> str | None:
    """The one action of a well-formed answer that echoes our nonce; None for anything else."""
    try:
        data = json.loads(raw)["data"]
        actions = data["actions"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(data, dict) or data.get("nonce") != nonce or not isinstance(actions, list) or len(actions) != 1:
        return None
    kind = str(actions[0].get("@odata.type", "")) if isinstance(actions[0], dict) else ""
    name = kind.removeprefix("#").removeprefix(ACTION_PREFIX)
    return name if name in ACTIONS else None
