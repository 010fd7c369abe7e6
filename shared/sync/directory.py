"""SyncDirectory: the user reads and writes the sync needs (GET, PATCH, DELETE, restore), through the import's
Graph clients and throttle budgets, plus the sync's own share of the write quota.

Every write takes a token from the sync's `share` budget (SYNC_WRITE_SHARE of the quota), then from an app lane's
pool and the tenant pool (the whole quota, which the bulk import draws from too), so together they stay under the
quota; an import leaves the sync its share while one runs (shared/adapters/graph/sharing.py), so neither starves
the other. A 429 blocks the lane for Retry-After.

Errors (shared.sync.errors): `UserGone` (404: not there, or not readable yet), `WriteRejected` (a permanent
400/403 with Graph's code: record it, don't retry), `GraphBusy` (429/5xx/no answer after the retries: transient,
schedule a retry). PATCH and DELETE are idempotent, so re-sending after an ambiguous failure is safe.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import httpx
from kiota_abstractions.api_error import APIError
from kiota_abstractions.method import Method
from kiota_abstractions.request_information import RequestInformation

from shared.adapters.graph.budget import WriteBudget
from shared.adapters.graph.directory import ERROR_MAP, TRANSIENT_STATUSES, AppLane, GraphDirectory, _retry_after
from shared.adapters.graph.sharing import pool_of
from shared.sync.errors import GraphBusy, UserGone, WriteRejected

logger = logging.getLogger(__name__)


class SyncDirectory:
    def __init__(self, graph: GraphDirectory, share: WriteBudget, *, attempts: int = 5) -> None:
        self.graph = graph
        self.share = share
        self.attempts = attempts
        self._next = 0
        self.writes = 0

    def _lane(self) -> AppLane:
        self._next = (self._next + 1) % len(self.graph.lanes)
        return self.graph.lanes[self._next]

    async def get_user(self, object_id: str, select: Sequence[str]) -> dict[str, Any]:
        path = f"/users/{quote(object_id)}?$select={','.join(select)}"
        body = await self._call(self.graph.lanes[0], Method.GET, path, None, write=False)
        return body or {}

    async def update_user(self, object_id: str, patch: dict[str, Any]) -> None:
        """PATCH only the given properties (Graph answers 204; properties not sent keep their values)."""
        if patch:
            await self._call(self._lane(), Method.PATCH, f"/users/{quote(object_id)}", patch, write=True)

    async def ensure_email_method(self, object_id: str, address: str) -> None:
        """Register `address` as the user's email authentication method unless they already have one
        (graph docs api/authentication-post-emailmethods.md: a user has at most one)."""
        path = f"/users/{quote(object_id)}/authentication/emailMethods"
        listed = await self._call(self.graph.lanes[0], Method.GET, path, None, write=False)
        if listed and listed.get("value"):
            return
        await self._call(self._lane(), Method.POST, path, {"emailAddress": address}, write=True)

    async def delete_user(self, object_id: str) -> bool:
        """Soft delete (restorable for 30 days). False when the user was already gone."""
        try:
            await self._call(self._lane(), Method.DELETE, f"/users/{quote(object_id)}", None, write=True)
        except UserGone:
            return False
        return True

    async def restore_user(self, object_id: str) -> bool:
        """POST /directory/deletedItems/{id}/restore. False when there is nothing to restore."""
        try:
            await self._call(
                self._lane(), Method.POST, f"/directory/deletedItems/{quote(object_id)}/restore", {}, write=True
            )
        except UserGone:
            return False
        return True

    async def _call(
        self, lane: AppLane, method: Method, path: str, body: dict[str, Any] | None, *, write: bool
    ) -> dict[str, Any] | None:
        last = "no answer"
        for attempt in range(1, self.attempts + 1):
            if write:
                await self.share.acquire(1)
                await pool_of(lane.budget).acquire(1)  # the whole pool: an import's cap is the import's alone
                await pool_of(self.graph.tenant_budget).acquire(1)
                self.writes += 1
            try:
                return await self._send(lane, method, path, body)
            except APIError as exc:
                status = exc.response_status_code or 0
                code, message = _error(exc)
                if status == 404:
                    raise UserGone(path.split("?")[0]) from None
                if status == 429:
                    wait = _retry_after(exc.response_headers) or _backoff(attempt)
                    lane.budget.block_for(wait)
                    if write:
                        self.share.block_for(wait)
                    last = "429"
                    continue
                if status in TRANSIENT_STATUSES:
                    last = str(status)
                    await asyncio.sleep(_retry_after(exc.response_headers) or _backoff(attempt))
                    continue
                raise WriteRejected(code or f"HTTP{status}", (message or f"HTTP {status}")[:300]) from None
            except (TimeoutError, httpx.TransportError):
                last = "no answer"
                await asyncio.sleep(_backoff(attempt))
        raise GraphBusy(f"Graph {method.value} {path.split('?')[0].split('/')[1]}: {last} after {self.attempts} tries")

    async def _send(
        self, lane: AppLane, method: Method, path: str, body: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        adapter = lane.client.request_adapter
        info = RequestInformation()
        info.http_method = method
        info.url = f"{adapter.base_url}{path}"
        info.headers.try_add("Accept", "application/json")
        if body is not None:
            info.headers.try_add("Content-Type", "application/json")
            info.content = json.dumps(body, separators=(",", ":")).encode()
        raw: Any = await adapter.send_primitive_async(info, "bytes", ERROR_MAP)
        if not raw:
            return None
        parsed: Any = json.loads(raw)
        return parsed if isinstance(parsed, dict) else None


def _backoff(attempt: int) -> float:
    return float(0.25 * (2 ** (attempt - 1)) * (0.5 + random.random()))


def _error(exc: APIError) -> tuple[str | None, str | None]:
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    message = getattr(error, "message", None)
    return (str(code) if code else None), (str(message) if message else None)
