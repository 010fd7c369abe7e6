"""MFA methods over msgraph-sdk: `users/{id}/authentication/phoneMethods` and `emailMethods`.

A read lists what the user holds (slot → value); a write POSTs one method after taking one write from
the lane's and the tenant's budget (Graph counts it against the write quota like a create). A write
is sent once: a 429 blocks the lane for Retry-After and comes back `throttled`; a 5xx or lost answer
comes back `ambiguous` (it may have committed), and the caller reads back before any re-send.
Sources: graph docs api/authentication-post-phonemethods.md, api/authentication-post-emailmethods.md,
api/authentication-list-phonemethods.md.
"""

from __future__ import annotations

import logging

import httpx
from kiota_abstractions.api_error import APIError
from msgraph.generated.models.authentication_phone_type import AuthenticationPhoneType
from msgraph.generated.models.email_authentication_method import EmailAuthenticationMethod
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.phone_authentication_method import PhoneAuthenticationMethod
from msgraph.generated.users.item.authentication.authentication_request_builder import AuthenticationRequestBuilder
from msgraph.graph_service_client import GraphServiceClient

from shared.adapters.graph.budget import WriteBudget
from shared.adapters.graph.errors import GraphAccessDenied
from shared.auth_methods import MethodKind, MethodWrite
from shared.ports import MethodAnswer

logger = logging.getLogger(__name__)

AMBIGUOUS = frozenset({500, 502, 504})
ACCESS_DENIED = frozenset({401, 403})
PERMISSION = "UserAuthenticationMethod.ReadWrite.All"


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

    def _authentication(self, object_id: str) -> AuthenticationRequestBuilder:
        return self.client.users.by_user_id(object_id).authentication

    async def list_methods(self, object_id: str, kind: MethodKind) -> dict[str, str] | MethodAnswer:
        authentication = self._authentication(object_id)
        try:
            if kind == "phone":
                phones = await authentication.phone_methods.get()
                return {
                    str(p.phone_type.value): p.phone_number  # a str at run time (the stub says tuple)
                    for p in (phones.value if phones and phones.value else [])
                    if p.phone_type is not None and p.phone_number
                }
            emails = await authentication.email_methods.get()
            found = [e.email_address for e in (emails.value if emails and emails.value else []) if e.email_address]
            return {"email": found[0]} if found else {}
        except APIError as exc:
            answer = _answer(exc, self.app_id)
            # A read changes nothing: whatever went wrong, the caller may simply ask again later.
            return answer if answer.status == "throttled" else answer.model_copy(update={"status": "unavailable"})
        except (TimeoutError, httpx.TransportError):
            return MethodAnswer(status="unavailable", error_code="NoAnswer")

    async def add_method(self, object_id: str, method: MethodWrite) -> MethodAnswer:
        await self.budget.acquire(1)
        await self.tenant_budget.acquire(1)
        authentication = self._authentication(object_id)
        try:
            if method.kind == "phone":
                body = PhoneAuthenticationMethod(
                    phone_number=method.value, phone_type=AuthenticationPhoneType(method.slot)
                )
                await authentication.phone_methods.post(body)
            else:
                await authentication.email_methods.post(EmailAuthenticationMethod(email_address=method.value))
        except APIError as exc:
            answer = _answer(exc, self.app_id)
            if answer.status == "throttled":
                self.budget.block_for(answer.retry_after or 2.0)
            return answer
        except (TimeoutError, httpx.TransportError) as exc:
            logger.warning("method write got no answer (%s): read back before any re-send", type(exc).__name__)
            return MethodAnswer(status="ambiguous", error_code="NoAnswer")
        return MethodAnswer(status="added")
