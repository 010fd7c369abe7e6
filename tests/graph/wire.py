"""A recording httpx transport for watching what really leaves the process (below the SDK's middleware)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class WireCall:
    method: str
    path: str
    query: str
    body: Any
    status: int | None = None  # None: no answer (connection lost)
    authorization: str | None = None


@dataclass
class RecordingTransport(httpx.AsyncBaseTransport):
    """Every request the socket layer sends, with the status it got back."""

    inner: httpx.AsyncBaseTransport = field(default_factory=httpx.AsyncHTTPTransport)
    calls: list[WireCall] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raw = request.content
        call = WireCall(
            method=request.method,
            path=request.url.path,
            query=request.url.query.decode(),
            body=json.loads(raw) if raw else None,
            authorization=request.headers.get("authorization"),
        )
        self.calls.append(call)
        response = await self.inner.handle_async_request(request)
        call.status = response.status_code
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()
