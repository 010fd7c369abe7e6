"""GraphUserRemoval: read users back by object id and delete them, through $batch and the write quota.

Reads (`GET /users/{id}?$select=…`, 20 per $batch) cost resource units, not writes; deletes
(`DELETE /users/{id}`, graph docs api/user-delete.md: 204, the user moves to deleted items for 30
days, resources/directory.md) draw on the lane's and the tenant's write budgets like creates (the
shared quota when SHARED_QUOTA). Per item: 2xx → read/deleted; 404 → absent (already gone: a
delete is idempotent); 429 → that lane waits Retry-After and the item goes out again; 5xx or a lost
answer → retried (a retried DELETE that meets 404 committed the first time). What is still open
when the retries run out is returned as `failed`, never guessed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import httpx
from azure.core.exceptions import ClientAuthenticationError
from kiota_abstractions.api_error import APIError

from shared.adapters.graph.directory import (
    ACCESS_DENIED,
    BATCH_LIMIT,
    TRANSIENT_STATUSES,
    AppLane,
    GraphDirectory,
    _auth_reason,
    _error_codes,
    _retry_after,
)
from shared.adapters.graph.errors import GraphAccessDenied
from shared.ports import RemovalAnswer

MAX_ROUNDS = 12


class GraphUserRemoval:
    """`UserRemoval` port over a GraphDirectory's lanes and budgets."""

    def __init__(self, directory: GraphDirectory, *, max_rounds: int = MAX_ROUNDS) -> None:
        self.directory = directory
        self.max_rounds = max_rounds

    async def read_users(self, object_ids: Sequence[str], select: Sequence[str]) -> dict[str, RemovalAnswer]:
        fields = ",".join(select)
        return await self._run(object_ids, "GET", lambda oid: f"/users/{oid}?$select={fields}", writes=False)

    async def delete_users(self, object_ids: Sequence[str]) -> dict[str, RemovalAnswer]:
        return await self._run(object_ids, "DELETE", lambda oid: f"/users/{oid}", writes=True)

    async def _run(self, object_ids: Sequence[str], method: str, url: Any, *, writes: bool) -> dict[str, RemovalAnswer]:
        open_ids = list(dict.fromkeys(object_ids))
        answers: dict[str, RemovalAnswer] = {}
        errors: dict[str, str] = {}
        for round_no in range(1, self.max_rounds + 1):
            if not open_ids:
                break
            batches = [open_ids[i : i + BATCH_LIMIT] for i in range(0, len(open_ids), BATCH_LIMIT)]
            lanes = self.directory.lanes
            results = await asyncio.gather(*(
                self._batch(lanes[n % len(lanes)], batch, method, url, writes) for n, batch in enumerate(batches)
            ))  # fmt: skip
            open_ids = []
            waits: list[float] = []
            for done, retry, wait, codes in results:
                answers.update(done)
                open_ids += retry
                errors.update(codes)
                if wait:
                    waits.append(wait)
            if open_ids:  # throttled lanes are blocked in their budgets; back off for 5xx and lost answers
                await asyncio.sleep(0 if waits else self.directory._backoff(round_no))
        for oid in open_ids:
            answers[oid] = RemovalAnswer(object_id=oid, status="failed", error_code=errors.get(oid, "unanswered"))
        return answers

    async def _batch(
        self, lane: AppLane, ids: list[str], method: str, url: Any, writes: bool
    ) -> tuple[dict[str, RemovalAnswer], list[str], float, dict[str, str]]:
        if writes:
            await lane.budget.acquire(len(ids))
            await self.directory.tenant_budget.acquire(len(ids))
        body = {"requests": [{"id": str(n), "method": method, "url": url(oid)} for n, oid in enumerate(ids)]}
        self.directory.requests_sent += 1
        try:
            raw = await self.directory._post_batch(lane.client, body)
        except ClientAuthenticationError as exc:
            raise GraphAccessDenied(lane.app_id, None, _auth_reason(exc)) from None
        except APIError as exc:
            status = exc.response_status_code or 0
            if status in ACCESS_DENIED:
                raise GraphAccessDenied(lane.app_id, status) from None
            wait = _retry_after(exc.response_headers) if status == 429 else None
            if wait:
                lane.budget.block_for(wait)
            return {}, ids, wait or 0.0, dict.fromkeys(ids, f"HTTP{status}")
        except (TimeoutError, httpx.TransportError):
            return {}, ids, 0.0, dict.fromkeys(ids, "HTTP504")
        responses = {str(r.get("id")): r for r in (raw.get("responses") or []) if isinstance(r, dict)}
        done: dict[str, RemovalAnswer] = {}
        retry: list[str] = []
        codes: dict[str, str] = {}
        longest = 0.0
        for n, oid in enumerate(ids):
            item = responses.get(str(n))
            status = int(item.get("status") or 0) if item else 504
            item_body = item.get("body") if item else None
            if 200 <= status < 300:
                done[oid] = RemovalAnswer(
                    object_id=oid, status="ok", properties=item_body if isinstance(item_body, dict) else {}
                )
            elif status == 404:
                done[oid] = RemovalAnswer(object_id=oid, status="absent")
            elif status in ACCESS_DENIED:
                raise GraphAccessDenied(lane.app_id, status, "User.ReadWrite.All")
            elif status == 429 or status in TRANSIENT_STATUSES or item is None:
                wait = _retry_after(item.get("headers")) if item and status == 429 else None
                if wait:
                    lane.budget.block_for(wait)
                    longest = max(longest, wait)
                retry.append(oid)
                codes[oid] = f"HTTP{status}"
            else:
                code, details, _ = _error_codes(item_body)
                done[oid] = RemovalAnswer(
                    object_id=oid, status="failed", error_code=(details[0] if details else code) or f"HTTP{status}"
                )
        return done, retry, longest, codes
