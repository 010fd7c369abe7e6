"""MFA methods over msgraph-sdk: `users/{id}/authentication/phoneMethods` and `emailMethods`.

A read lists what the user holds (slot → value); a write POSTs one method after taking one write from
the lane's and the tenant's budget (Graph counts it against the write quota like a create). A write
is sent once: a 429 blocks the lane for Retry-After and comes back `throttled`; a 5xx or lost answer
comes back `ambiguous` (it may have committed), and the caller reads back before any re-send.
Sources: graph docs api/authentication-post-phonemethods.md, api/authentication-post-emailmethods.md,
api/authentication-list-phonemethods.md.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import quote

import httpx
from kiota_abstractions.api_error import APIError
from kiota_abstractions.method import Method
from kiota_abstractions.request_information import RequestInformation
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.graph_service_client import GraphServiceClient

from shared.adapters.graph.budget import WriteBudget
from shared.adapters.graph.errors import GraphAccessDenied
from shared.auth_methods import MethodKind, MethodWrite
from shared.ports import MethodAnswer

logger = logging.getLogger(__name__)

AMBIGUOUS = frozenset({500, 502, 504})
ACCESS_DENIED = frozenset({401, 403})
PERMISSION = "UserAuthenticationMethod.ReadWrite.All"
ERROR_MAP: dict[str, Any] = {"XXX": ODataError}
_SEGMENT: dict[MethodKind, str] = {"phone": "phoneMethods", "email": "emailMethods"}


def _retry_after(exc: APIError) -> float | None:
    for key, value in (exc.response_headers or {}).items():
        if key.lower() == "retry-after":
            try:
                return max(0.0, float(next(iter(value)) if isinstance(value, set | list) else value))
            except (TypeError, ValueError, StopIteration):
                return None
    return None


def _answer(exc: APIError, app_id: str) -> MethodAnswer:
    status = exc.response_status_code or 0
    if status in ACCESS_DENIED:
        raise GraphAccessDenied(app_id, status, PERMISSION) from None
    if status == 429:
        return MethodAnswer(status="throttled", retry_after=_retry_after(exc), error_code="TooManyRequests")
    if status in AMBIGUOUS:
        return MethodAnswer(status="ambiguous", error_code=f"HTTP{status}")
    if status >= 500:
        return MethodAnswer(status="unavailable", retry_after=_retry_after(exc), error_code=f"HTTP{status}")
    code = exc.error.code if isinstance(exc, ODataError) and exc.error and exc.error.code else None
    return MethodAnswer(status="refused", error_code=code or f"HTTP{status}")


class AuthMethods:
    """The MFA half of GraphDirectory: reads with the reader client, writes on a lane within its budget."""

    def __init__(
        self, app_id: str, client: GraphServiceClient, budget: WriteBudget, tenant_budget: WriteBudget
    ) -> None:
        self.app_id = app_id
        self.client = client
        self.budget = budget
        self.tenant_budget = tenant_budget

    async def _send(self, method: Method, path: str, body: dict[str, str] | None = None) -> dict[str, Any]:
        """One request through the SDK's adapter (auth, middleware, error mapping), the JSON kept raw: kiota's
        model parsing of an authentication method costs more than the request itself."""
        adapter = self.client.request_adapter
        info = RequestInformation()
        info.http_method = method
        info.url_template = "{+baseurl}" + path
        info.path_parameters = {"baseurl": adapter.base_url}
        info.headers.try_add("Accept", "application/json")
        if body is not None:
            info.headers.try_add("Content-Type", "application/json")
            info.content = json.dumps(body, separators=(",", ":")).encode()
        raw: Any = await adapter.send_primitive_async(info, "bytes", ERROR_MAP)
        parsed: Any = json.loads(raw) if raw else {}
        return parsed if isinstance(parsed, dict) else {}

    async def list_methods(self, object_id: str, kind: MethodKind) -> dict[str, str] | MethodAnswer:
        try:
            page = await self._send(Method.GET, f"/users/{quote(object_id)}/authentication/{_SEGMENT[kind]}")
        except APIError as exc:
            answer = _answer(exc, self.app_id)
            # A read changes nothing: whatever went wrong, the caller may simply ask again later.
            return answer if answer.status == "throttled" else answer.model_copy(update={"status": "unavailable"})
        except (TimeoutError, httpx.TransportError):
            return MethodAnswer(status="unavailable", error_code="NoAnswer")
        held: dict[str, str] = {}
        for item in page.get("value") or []:
            if not isinstance(item, dict):
                continue
            if kind == "phone" and item.get("phoneType") and item.get("phoneNumber"):
                held[str(item["phoneType"])] = str(item["phoneNumber"])
            elif kind == "email" and item.get("emailAddress"):
                held.setdefault("email", str(item["emailAddress"]))
        return held

    async def add_method(self, object_id: str, method: MethodWrite) -> MethodAnswer:
        await self.budget.acquire(1)
        await self.tenant_budget.acquire(1)
        if method.kind == "phone":
            body = {"phoneNumber": method.value, "phoneType": method.slot}
        else:
            body = {"emailAddress": method.value}
        try:
            await self._send(Method.POST, f"/users/{quote(object_id)}/authentication/{_SEGMENT[method.kind]}", body)
        except APIError as exc:
            answer = _answer(exc, self.app_id)
            if answer.status == "throttled":
                self.budget.block_for(answer.retry_after or 2.0)
            return answer
        except (TimeoutError, httpx.TransportError) as exc:
            logger.warning("method write got no answer (%s): read back before any re-send", type(exc).__name__)
            return MethodAnswer(status="ambiguous", error_code="NoAnswer")
        return MethodAnswer(status="added")
