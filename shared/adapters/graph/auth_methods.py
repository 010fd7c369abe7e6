"""MFA methods over msgraph-sdk: `users/{id}/authentication/phoneMethods` and `emailMethods`.

A read lists what the user holds (slot → value). Writes go 20 to a `POST /$batch` (concepts/json-batching.md:
any request, ≤ 20 per batch, one status per item), after taking one write per item from the lane's and the
tenant's budget: Graph evaluates each item against the quotas on its own (concepts/throttling.md, "Throttling
and batching": "Requests in a batch are evaluated individually against throttling limits"), and a method POST
is an identity-path POST, 1 resource unit + 1 write (concepts/throttling-limits.md). A write is sent once: a
429 (the item's or the envelope's) blocks the lane for Retry-After and comes back `throttled`; a 500/502/504 or
a lost answer — of the item or of the whole batch, which may have committed every item — comes back
`ambiguous`, and the caller reads back before any re-send. Sources: graph docs api/authentication-post-phonemethods.md,
api/authentication-post-emailmethods.md, api/authentication-list-phonemethods.md.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import httpx
from azure.core.exceptions import ClientAuthenticationError
from kiota_abstractions.api_error import APIError
from kiota_abstractions.method import Method
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.graph_service_client import GraphServiceClient

from shared.adapters.graph.budget import WriteBudget
from shared.adapters.graph.errors import GraphAccessDenied
from shared.adapters.graph.json_calls import send_json
from shared.auth_methods import MethodKind
from shared.ports import MethodAnswer, MethodPost

logger = logging.getLogger(__name__)

AMBIGUOUS = frozenset({500, 502, 504})
ACCESS_DENIED = frozenset({401, 403})
# concepts/throttling.md: with throttled items "the batch itself fails with a status code of 424"; json-batching.md:
# a parseable batch answers 200. Whichever Graph sends, an envelope 424 hides which items ran: read back.
FAILED_DEPENDENCY = 424
PERMISSION = "UserAuthenticationMethod.ReadWrite.All"
ERROR_MAP: dict[str, Any] = {"XXX": ODataError}
_SEGMENT: dict[MethodKind, str] = {"phone": "phoneMethods", "email": "emailMethods"}


def _retry_after(headers: dict[str, Any] | None) -> float | None:
    for key, value in (headers or {}).items():
        if key.lower() == "retry-after":
            try:
                return max(0.0, float(next(iter(value)) if isinstance(value, set | list) else value))
            except (TypeError, ValueError, StopIteration):
                return None
    return None


def _answer(status: int, headers: dict[str, Any] | None, code: str | None, app_id: str) -> MethodAnswer:
    """One status (an item's, or the whole request's) as the importer's answer."""
    if status in ACCESS_DENIED:
        raise GraphAccessDenied(app_id, status, PERMISSION)
    if status in (200, 201):
        return MethodAnswer(status="added")
    if status == 429:
        return MethodAnswer(status="throttled", retry_after=_retry_after(headers), error_code="TooManyRequests")
    if status in AMBIGUOUS or status == 0:
        return MethodAnswer(status="ambiguous", error_code=f"HTTP{status}" if status else "NoAnswer")
    if status >= 500:
        return MethodAnswer(status="unavailable", retry_after=_retry_after(headers), error_code=f"HTTP{status}")
    return MethodAnswer(status="refused", error_code=code or f"HTTP{status}")


def _api_answer(exc: APIError, app_id: str) -> MethodAnswer:
    status = exc.response_status_code or 0
    if status in ACCESS_DENIED:
        raise GraphAccessDenied(app_id, status, PERMISSION) from None
    code = exc.error.code if isinstance(exc, ODataError) and exc.error and exc.error.code else None
    return _answer(status, exc.response_headers, code, app_id)


def _item_code(body: Any) -> str | None:
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return str(code) if code else None


def _request(index: int, post: MethodPost) -> dict[str, Any]:
    method = post.method
    if method.kind == "phone":
        body = {"phoneNumber": method.value, "phoneType": method.slot}
    else:
        body = {"emailAddress": method.value}
    return {"id": str(index), "method": "POST", "url": f"/users/{quote(post.object_id)}/authentication/"
            f"{_SEGMENT[method.kind]}", "headers": {"Content-Type": "application/json"}, "body": body}  # fmt: skip


class AuthMethods:
    """The MFA half of GraphDirectory: reads with the reader client, writes on a lane within its budget."""

    def __init__(
        self, app_id: str, client: GraphServiceClient, budget: WriteBudget, tenant_budget: WriteBudget
    ) -> None:
        self.app_id = app_id
        self.client = client
        self.budget = budget
        self.tenant_budget = tenant_budget

    async def _send(self, method: Method, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """One request through the SDK's adapter (auth, middleware, error mapping), the JSON kept raw: kiota's
        model parsing of an authentication method costs more than the request itself."""
        return await send_json(self.client, method, path.lstrip("/"), body=body)

    async def list_methods(self, object_id: str, kind: MethodKind) -> dict[str, str] | MethodAnswer:
        try:
            page = await self._send(Method.GET, f"/users/{quote(object_id)}/authentication/{_SEGMENT[kind]}")
        except APIError as exc:
            answer = _api_answer(exc, self.app_id)
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

    async def post_batch(self, posts: Sequence[MethodPost]) -> list[MethodAnswer]:
        """One `$batch` of at most 20 method POSTs; one answer per post, in order."""
        await self.budget.acquire(len(posts))
        await self.tenant_budget.acquire(len(posts))
        body = {"requests": [_request(i, p) for i, p in enumerate(posts)]}
        try:
            raw = await self._send(Method.POST, "/$batch", body)
        except ClientAuthenticationError as exc:
            raise GraphAccessDenied(self.app_id, None, type(exc).__name__) from None
        except APIError as exc:
            if exc.response_status_code == FAILED_DEPENDENCY:  # some items throttled, the others may have committed
                return [MethodAnswer(status="ambiguous", error_code="HTTP424")] * len(posts)
            answer = _api_answer(exc, self.app_id)  # the envelope's status stands for every item
            if answer.status == "throttled":
                self.budget.block_for(answer.retry_after or 2.0)
            return [answer] * len(posts)
        except (TimeoutError, httpx.TransportError) as exc:
            logger.warning("a method $batch got no answer (%s): read back before any re-send", type(exc).__name__)
            return [MethodAnswer(status="ambiguous", error_code="NoAnswer")] * len(posts)
        items = {str(r.get("id")): r for r in raw.get("responses") or [] if isinstance(r, dict)}
        answers: list[MethodAnswer] = []
        for index in range(len(posts)):
            item = items.get(str(index))  # missing: the item's fate is unknown, like a lost answer
            status = int(item.get("status") or 0) if item else 0
            headers = item.get("headers") if item and isinstance(item.get("headers"), dict) else None
            answer = _answer(status, headers, _item_code(item.get("body") if item else None), self.app_id)
            if answer.status == "throttled":
                self.budget.block_for(answer.retry_after or 2.0)
            answers.append(answer)
        return answers
