"""JitService: one OnPasswordSubmit call from HTTP headers to HTTP answer, framework-neutral.

Order matters: the bearer token is validated before the body is read (401, body untouched); then the size cap
(413), the request shape (400), the JWE (400), and the decision (200 with one action and the echoed nonce, or 429
when throttled). Failure bodies are constant and say nothing about the cause. Every call is recorded as an outcome
(AttemptStore: jit.db locally, the shared Table JIT__ATTEMPTS_TABLE in Azure)
and in telemetry (`jit.requests` by action/reason, `jit.latency_ms` by action and `budget`: `over_half` when the
call took more than half of Entra's 2,000 ms extension timeout, else `within`, so the latency alert can judge the
share of slow decisions without a mean that fast sheds pull down). Logs carry no body, token or password.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from pydantic import ValidationError

from shared.config import JitSettings
from shared.jit.attempts import AttemptStore
from shared.jit.decision import PasswordDecider
from shared.jit.password_context import ContextUnreadable, PasswordContextDecryptor
from shared.jit.protocol import GENERIC_FAILURE_BODY, UNAUTHORIZED_BODY, PasswordSubmitRequest, action_body
from shared.jit.state import Outcome
from shared.jit.tokens import MetadataUnavailable, OidcKeys, TokenRejected, TokenValidator
from shared.ports import Telemetry

logger = logging.getLogger(__name__)

ROUTE = "/api/password-submit"
ENTRA_TIMEOUT_MS = 2000  # the longest timeout a custom authentication extension can be given (docs/limits.md)


class BodyTooLarge(Exception):
    """The request body exceeded JIT.MAX_BODY_BYTES while being read."""


ReadBody = Callable[[int], Awaitable[bytes]]


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})


def _failure(status: int, body: bytes = GENERIC_FAILURE_BODY) -> HttpAnswer:
    headers = {"Content-Type": "application/json", "Cache-Control": "no-store"}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if status == 429:
        headers["Retry-After"] = "1"
    return HttpAnswer(status, body, headers)


class JitService:
    def __init__(
        self,
        settings: JitSettings,
        validator: TokenValidator,
        decryptor: PasswordContextDecryptor,
        decider: PasswordDecider,
        state: AttemptStore,
        telemetry: Telemetry,
        *,
        keys: OidcKeys | None = None,
        also_close: Callable[[], None] | None = None,
    ) -> None:
        self._also_close = also_close
        self._keys = keys
        self._settings = settings
        self._validator = validator
        self._decryptor = decryptor
        self._decider = decider
        self._state = state
        self._telemetry = telemetry

    async def warm(self) -> None:
        """Fetch the OIDC metadata and JWKS now, so the first sign-in doesn't pay for it (cold starts)."""
        if self._keys is not None:
            await self._keys.issuer()

    async def close(self) -> None:
        if self._keys is not None:
            await self._keys.close()
        await self._decider.close()
        await self._state.close()
        if self._also_close is not None:
            self._also_close()

    async def handle(self, authorization: str | None, content_length: int | None, read_body: ReadBody) -> HttpAnswer:
        started = time.perf_counter()
        correlation_id: str | None = None
        object_id: str | None = None
        try:
            answer, action, reason, correlation_id, object_id = await self._handle(
                authorization, content_length, read_body
            )
        except Exception as exc:  # never let a stack trace (or an exception's text) reach the caller
            logger.error("password submit failed unexpectedly (%s)", type(exc).__name__)
            answer, action, reason = _failure(500), "Error", "internal_error"
        latency_ms = (time.perf_counter() - started) * 1000
        self._telemetry.count("jit.requests", action=action, reason=reason)
        budget = "over_half" if latency_ms > ENTRA_TIMEOUT_MS / 2 else "within"
        self._telemetry.measure("jit.latency_ms", latency_ms, action=action, budget=budget)
        try:
            await self._state.record_outcome(
                Outcome(time.time(), correlation_id, object_id, action, reason, latency_ms)
            )
        except Exception as exc:  # the answer is decided: a lost log line must not turn it into an error
            logger.warning("password submit outcome not recorded (%s)", type(exc).__name__)
        logger.info(
            "password submit: action=%s reason=%s status=%d correlation=%s",
            action,
            reason,
            answer.status,
            correlation_id,
        )
        return answer

    async def _handle(
        self, authorization: str | None, content_length: int | None, read_body: ReadBody
    ) -> tuple[HttpAnswer, str, str, str | None, str | None]:
        try:
            await self._validator.validate(authorization)
        except TokenRejected as rejected:
            return _failure(401, UNAUTHORIZED_BODY), "Unauthorized", f"token_{rejected.reason}", None, None
        except MetadataUnavailable:
            return _failure(503), "Error", "metadata_unavailable", None, None
        limit = self._settings.MAX_BODY_BYTES
        if content_length is not None and content_length > limit:
            return _failure(413), "Rejected", "body_too_large", None, None
        try:
            body = await read_body(limit)
        except BodyTooLarge:
            return _failure(413), "Rejected", "body_too_large", None, None
        try:
            request = PasswordSubmitRequest.model_validate_json(body)
        except ValidationError:  # its text would quote the input: never log or return it
            return _failure(400), "Rejected", "bad_request", None, None
        data = request.data
        correlation_id = data.authentication_context.correlation_id
        object_id = data.authentication_context.user.id
        if self._settings.TENANT_ID and data.tenant_id.lower() != self._settings.TENANT_ID.lower():
            return _failure(400), "Rejected", "wrong_tenant", correlation_id, object_id
        try:
            context = self._decryptor.decrypt(data.encrypted_password_context)
        except ContextUnreadable as unreadable:
            return _failure(400), "Rejected", f"context_{unreadable}", correlation_id, object_id
        decision = await self._decider.decide(object_id, correlation_id, context)
        if decision.action is None:
            return _failure(429), "Throttled", decision.reason, correlation_id, object_id
        body_out = action_body(decision.action, context.nonce, title=decision.title, message=decision.message)
        return HttpAnswer(200, body_out), decision.action.value, decision.reason, correlation_id, object_id
