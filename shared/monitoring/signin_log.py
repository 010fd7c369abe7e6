"""The sign-in log port and its Graph adapter (`GET /auditLogs/signIns`, graph docs api/signin-list.md).

`read(since, until, next_link)` returns one page of records with `since <= createdDateTime <= until` (newest
first, up to 1,000) and the next link; a 429 raises ReportingThrottled(retry_after) — never retried here, so
the caller's limiter decides when the next request leaves. The adapter uses httpx rather than msgraph-sdk:
the SDK's retry handler would re-send a throttled request outside the limiter's budget.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx
from pydantic import BaseModel, ConfigDict, Field


class SignInStatus(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)
    error_code: int = Field(0, alias="errorCode")


class CalloutResultRecord(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)
    error_code: int | None = Field(None, alias="errorCode")
    http_status: int | None = Field(None, alias="httpStatus")
    attempts: int | None = Field(None, alias="numberOfAttempts")


class AppliedListener(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)
    handler_result: CalloutResultRecord | None = Field(None, alias="handlerResult")


class SignInRecord(BaseModel):
    """The fields the monitors use; everything else in Graph's signIn is ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)
    id: str
    created: datetime = Field(alias="createdDateTime")
    user_id: str | None = Field(None, alias="userId")
    app_id: str | None = Field(None, alias="appId")
    correlation_id: str | None = Field(None, alias="correlationId")
    status: SignInStatus = Field(default_factory=lambda: SignInStatus())
    applied_event_listeners: list[AppliedListener] = Field(default_factory=list, alias="appliedEventListeners")

    @property
    def callout(self) -> CalloutResultRecord | None:
        for listener in self.applied_event_listeners:
            if listener.handler_result is not None:
                return listener.handler_result
        return None


@dataclass(frozen=True)
class SignInPage:
    records: Sequence[SignInRecord]
    next_link: str | None


class ReportingThrottled(Exception):
    """The reporting API answered 429: wait `retry_after` seconds (None: back off) before the next request."""

    def __init__(self, retry_after: float | None) -> None:
        super().__init__(f"reporting API throttled (Retry-After {retry_after})")
        self.retry_after = retry_after


class SignInLog(Protocol):
    async def read(self, since: datetime, until: datetime, next_link: str | None) -> SignInPage: ...


def _iso(value: datetime, *, round_up: bool = False) -> str:
    """Whole seconds, widened outwards (the lower bound down, the upper bound up): never narrower than asked."""
    if round_up and value.microsecond:
        value = value.replace(microsecond=0) + timedelta(seconds=1)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


class GraphSignInLog:
    """`client` is an httpx.AsyncClient whose base URL is Graph's …/v1.0; `token` returns a bearer token."""

    def __init__(self, client: httpx.AsyncClient, token: Callable[[], Awaitable[str]], page_size: int = 1000) -> None:
        self._client = client
        self._token = token
        self._page_size = page_size
        self.requests = 0

    async def read(self, since: datetime, until: datetime, next_link: str | None) -> SignInPage:
        headers = {"Authorization": f"Bearer {await self._token()}"}
        if next_link is not None:
            response = await self._client.get(next_link, headers=headers)
        else:
            window = f"createdDateTime ge {_iso(since)} and createdDateTime le {_iso(until, round_up=True)}"
            response = await self._client.get(
                "/auditLogs/signIns", headers=headers, params={"$filter": window, "$top": str(self._page_size)}
            )
        self.requests += 1
        if response.status_code == 429:
            raw = response.headers.get("Retry-After")
            try:
                retry_after: float | None = float(raw) if raw is not None else None
            except ValueError:
                retry_after = None
            raise ReportingThrottled(retry_after)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        records = [SignInRecord.model_validate(item) for item in body.get("value", [])]
        return SignInPage(records, body.get("@odata.nextLink"))
