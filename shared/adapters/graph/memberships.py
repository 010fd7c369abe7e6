"""GraphMemberships: the Memberships port over the import's Graph clients, budgets and `$batch`.

Groups are resolved by displayName (`GET /groups?$filter=displayName eq '…'`); a missing one is created with
the upsert `PATCH /groups(uniqueName='ciam-migrate-…')` + `Prefer: create-if-missing` (graph docs
api/group-upsert.md), so a create repeated after a 504, a redelivery or a kill -9 finds the same group
instead of making a second one; the uniqueName prefix and description tag it as ours. App roles are resolved
through the app's service principal (`servicePrincipals(appId='…')`, or by displayName) and its appRoles' value.
Writes (`POST /groups/{id}/members/$ref`, `POST /users/{id}/appRoleAssignments`) go 20 to a `$batch`, one
token each from an app lane's budget and the tenant budget, like user creates. A write is idempotent by
Graph's own rule (a second one is a 400): any 400 is read back (`checkMemberGroups`, the user's
appRoleAssignments) — in place → `present`, else `failed` with Graph's code — so a duplicate answer never
needs its message parsed. 429 waits Retry-After; 5xx and lost answers are re-sent (safe for the same reason).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
from kiota_abstractions.api_error import APIError
from kiota_abstractions.method import Method
from kiota_abstractions.request_information import RequestInformation

from shared.adapters.graph.directory import (
    ACCESS_DENIED,
    BATCH_LIMIT,
    ERROR_MAP,
    TRANSIENT_STATUSES,
    AppLane,
    GraphDirectory,
    _error_codes,
    _retry_after,
)
from shared.adapters.graph.errors import GraphAccessDenied
from shared.groups import AppRoleTarget
from shared.ports import GroupWrite, ResolvedAppRole, ResolvedGroup, WriteResult, WriteStatus

logger = logging.getLogger(__name__)

UNIQUE_NAME_PREFIX = "ciam-migrate-"
OUR_DESCRIPTION = "Created by ciam-migrate from a legacy group mapping"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
MAX_ROUNDS = 6


def unique_name_for(display_name: str) -> str:
    """Deterministic: every instance and every retry upserts the same key for one displayName."""
    return UNIQUE_NAME_PREFIX + hashlib.sha256(display_name.encode()).hexdigest()[:24]


def _nickname(display_name: str) -> str:
    cleaned = "".join(c for c in display_name if c.isascii() and c.isalnum())[:40] or "group"
    return f"{cleaned}{hashlib.sha256(display_name.encode()).hexdigest()[:8]}"


class GraphCallFailed(Exception):
    def __init__(self, status: int, code: str | None, message: str | None) -> None:
        super().__init__(f"Graph answered {status} {code or ''}".strip())
        self.status = status
        self.code = code
        self.message = message


@dataclass
class _Pending:
    write: GroupWrite
    attempts: int = 0


@dataclass
class _Round:
    results: dict[str, WriteResult] = field(default_factory=dict)
    retry: list[_Pending] = field(default_factory=list)
    read_back: list[tuple[_Pending, str]] = field(default_factory=list)  # (write, Graph's error code)
    wait: float = 0.0


class GraphMemberships:
    def __init__(self, graph: GraphDirectory, *, max_transient_retries: int = 4) -> None:
        self.graph = graph
        self.max_transient_retries = max_transient_retries
        self._groups: dict[str, ResolvedGroup] = {}
        self._roles: dict[AppRoleTarget, ResolvedAppRole] = {}
        self._next = 0
        self.writes_sent = 0

    # -- resolving --------------------------------------------------------------------------------------
    async def resolve_groups(self, names: Sequence[str], *, create_missing: bool) -> dict[str, ResolvedGroup]:
        out: dict[str, ResolvedGroup] = {}
        for name in names:
            cached = self._groups.get(name)
            if cached is None or cached.group_id is None:
                cached = await self._resolve_group(name, create_missing)
                if cached.group_id is not None:
                    self._groups[name] = cached
            out[name] = cached
        return out

    async def _resolve_group(self, name: str, create_missing: bool) -> ResolvedGroup:
        try:
            return await self._find_or_create_group(name, create_missing)
        except GraphCallFailed as exc:  # a permanent refusal: this mapping can't be used; the run goes on
            if exc.status >= 500:
                raise  # Graph unavailable past the retries: the delivery fails and is retried
            return ResolvedGroup(name, None, problem=f"group {name!r}: Graph answered {exc.status} {exc.code or ''}")

    async def _find_or_create_group(self, name: str, create_missing: bool) -> ResolvedGroup:
        quoted = name.replace("'", "''")
        query = quote(f"displayName eq '{quoted}'")
        found = await self._call(Method.GET, f"/groups?$filter={query}", None)
        groups = [g for g in (found or {}).get("value", []) if isinstance(g, dict)]
        ours = [g for g in groups if str(g.get("uniqueName") or "").startswith(UNIQUE_NAME_PREFIX)]
        if len(groups) == 1 or len(ours) == 1:
            chosen = groups[0] if len(groups) == 1 else ours[0]
            return ResolvedGroup(name, str(chosen["id"]), created=False)
        if groups:
            return ResolvedGroup(
                name, None, problem=f"{len(groups)} Entra groups are named {name!r}: rename all but one"
            )
        if not create_missing:
            return ResolvedGroup(name, None, problem=f"no Entra group is named {name!r} (groups.create_missing is off)")
        unique = unique_name_for(name)
        body = {
            "displayName": name,
            "description": OUR_DESCRIPTION,
            "mailEnabled": False,
            "mailNickname": _nickname(name),
            "securityEnabled": True,
            "groupTypes": [],
        }
        created = await self._call(
            Method.PATCH, f"/groups(uniqueName='{unique}')", body, write=True, prefer="create-if-missing"
        )
        if created and created.get("id"):
            logger.info("created Entra group %s", unique)
            return ResolvedGroup(name, str(created["id"]), created=True)
        existing = await self._call(Method.GET, f"/groups(uniqueName='{unique}')?$select=id", None)  # 204: it was there
        return ResolvedGroup(name, str((existing or {})["id"]), created=False)

    async def resolve_app_roles(self, targets: Sequence[AppRoleTarget]) -> dict[AppRoleTarget, ResolvedAppRole]:
        out: dict[AppRoleTarget, ResolvedAppRole] = {}
        for target in targets:
            cached = self._roles.get(target)
            if cached is None:
                cached = await self._resolve_role(target)
                if cached.resource_id is not None:
                    self._roles[target] = cached
            out[target] = cached
        return out

    async def _resolve_role(self, target: AppRoleTarget) -> ResolvedAppRole:
        try:
            return await self._find_role(target)
        except GraphCallFailed as exc:
            if exc.status >= 500:
                raise
            return ResolvedAppRole(target, None, None, problem=f"app {target.app!r}: Graph answered {exc.status}")

    async def _find_role(self, target: AppRoleTarget) -> ResolvedAppRole:
        if _GUID.match(target.app):
            try:
                sps = [await self._call(Method.GET, f"/servicePrincipals(appId='{target.app}')", None) or {}]
            except GraphCallFailed as exc:
                if exc.status != 404:
                    raise
                sps = []
        else:
            quoted = target.app.replace("'", "''")
            query = quote(f"displayName eq '{quoted}'")
            page = await self._call(Method.GET, f"/servicePrincipals?$filter={query}", None)
            sps = [s for s in (page or {}).get("value", []) if isinstance(s, dict)]
        if len(sps) != 1:
            why = "no service principal (enterprise app)" if not sps else f"{len(sps)} service principals"
            return ResolvedAppRole(target, None, None, problem=f"app {target.app!r}: {why} in the tenant")
        sp = sps[0]
        roles = [r for r in sp.get("appRoles") or [] if isinstance(r, dict) and r.get("value") == target.role]
        usable = [r for r in roles if r.get("isEnabled", True) and "User" in (r.get("allowedMemberTypes") or ["User"])]
        if not usable:
            return ResolvedAppRole(
                target, None, None, problem=f"app {target.app!r} has no enabled app role {target.role!r} for users"
            )
        return ResolvedAppRole(target, str(sp["id"]), str(usable[0]["id"]))

    # -- writing ----------------------------------------------------------------------------------------
    async def write(self, writes: Sequence[GroupWrite]) -> list[WriteResult]:
        pending = [_Pending(w) for w in writes]
        final: dict[str, WriteResult] = {}
        for _ in range(MAX_ROUNDS):
            if not pending:
                break
            rnd = _Round()
            batches = [pending[i : i + BATCH_LIMIT] for i in range(0, len(pending), BATCH_LIMIT)]
            gate = asyncio.Semaphore(max(1, sum(lane.concurrency for lane in self.graph.lanes)))

            async def send(batch: list[_Pending], rnd: _Round = rnd, gate: asyncio.Semaphore = gate) -> None:
                async with gate:
                    await self._send_batch(self._lane(), batch, rnd)

            await asyncio.gather(*(send(b) for b in batches))
            final.update(rnd.results)
            final.update(await self._read_back_all(rnd.read_back))
            pending = rnd.retry
            if pending and rnd.wait:
                await asyncio.sleep(rnd.wait)
        for item in pending:
            final[item.write.key] = WriteResult(key=item.write.key, status="open", code="GraphUnavailable")
        return [final[w.key] for w in writes]

    def _lane(self) -> AppLane:
        self._next = (self._next + 1) % len(self.graph.lanes)
        return self.graph.lanes[self._next]

    @staticmethod
    def _request(index: int, write: GroupWrite) -> dict[str, Any]:
        if write.group_id is not None:
            url = f"/groups/{write.group_id}/members/$ref"
            body: dict[str, Any] = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{write.user_id}"}
        else:
            url = f"/users/{write.user_id}/appRoleAssignments"
            body = {"principalId": write.user_id, "resourceId": write.resource_id, "appRoleId": write.app_role_id}
        return {"id": str(index), "method": "POST", "url": url, "headers": {"Content-Type": "application/json"},
                "body": body}  # fmt: skip

    async def _send_batch(self, lane: AppLane, batch: list[_Pending], rnd: _Round) -> None:
        await lane.budget.acquire(len(batch))
        await self.graph.tenant_budget.acquire(len(batch))
        self.writes_sent += len(batch)
        body = {"requests": [self._request(i, p.write) for i, p in enumerate(batch)]}
        try:
            raw = await self._send(lane, Method.POST, "/$batch", body)
        except APIError as exc:
            status = exc.response_status_code or 0
            if status in ACCESS_DENIED:
                raise GraphAccessDenied(lane.app_id, status, "GroupMember.ReadWrite.All") from None
            wait = _retry_after(exc.response_headers) if status == 429 else None
            if wait:
                lane.budget.block_for(wait)
            self._again(batch, rnd, wait or 0.5 * (batch[0].attempts + 1), count=status != 429)
            return
        except (TimeoutError, httpx.TransportError):
            self._again(batch, rnd, 0.5 * (batch[0].attempts + 1))
            return
        answers = {str(r.get("id")): r for r in (raw or {}).get("responses", []) if isinstance(r, dict)}
        for index, item in enumerate(batch):
            answer = answers.get(str(index))
            status = int(answer.get("status") or 0) if answer else 0
            if status in (200, 201, 204):
                rnd.results[item.write.key] = WriteResult(key=item.write.key, status="added")
            elif status == 429:
                wait = _retry_after(answer.get("headers") if answer else None) or 1.0
                lane.budget.block_for(wait)
                self._again([item], rnd, wait, count=False)
            elif status in ACCESS_DENIED:
                raise GraphAccessDenied(lane.app_id, status, "GroupMember.ReadWrite.All")
            elif status == 0 or status in TRANSIENT_STATUSES or (status == 404 and item.attempts < 2):
                # 404: a user created moments ago may not be readable yet
                self._again([item], rnd, 0.5 * (item.attempts + 1))
            else:  # 400 (a duplicate among them), 404 (not readable yet, or gone): what is in place decides
                code, details, _ = _error_codes(answer.get("body") if answer else None)
                rnd.read_back.append((item, (details[0] if details else code) or f"HTTP{status}"))

    def _again(self, batch: Sequence[_Pending], rnd: _Round, wait: float, *, count: bool = True) -> None:
        for item in batch:
            item.attempts += 1 if count else 0
            if item.attempts > self.max_transient_retries:
                rnd.results[item.write.key] = WriteResult(key=item.write.key, status="open", code="GraphUnavailable")
            else:
                rnd.retry.append(item)
        rnd.wait = max(rnd.wait, wait)

    async def _read_back_all(self, items: list[tuple[_Pending, str]]) -> dict[str, WriteResult]:
        """What is in place for each refused write, one read per user (at most 8 at a time)."""
        by_user: dict[str, list[tuple[GroupWrite, str]]] = {}
        for item, code in items:
            by_user.setdefault(item.write.user_id, []).append((item.write, code))
        gate = asyncio.Semaphore(8)

        async def one(refused: list[tuple[GroupWrite, str]]) -> list[WriteResult]:
            async with gate:
                return await self._read_back(refused)

        out: dict[str, WriteResult] = {}
        for results in await asyncio.gather(*(one(r) for r in by_user.values())):
            out.update((r.key, r) for r in results)
        return out

    async def _read_back(self, refused: list[tuple[GroupWrite, str]]) -> list[WriteResult]:
        user_id = refused[0][0].user_id
        group_ids = [w.group_id for w, _ in refused if w.group_id is not None]
        groups: set[str] = set()
        roles: set[tuple[str, str]] = set()
        try:
            for start in range(0, len(group_ids), 20):  # checkMemberGroups takes up to 20 ids
                found = await self._call(
                    Method.POST, f"/users/{user_id}/checkMemberGroups", {"groupIds": group_ids[start : start + 20]}
                )
                groups.update(str(g) for g in (found or {}).get("value") or [])
            if len(group_ids) < len(refused):
                found = await self._call(Method.GET, f"/users/{user_id}/appRoleAssignments", None)
                for a in (found or {}).get("value") or []:
                    if isinstance(a, dict):
                        roles.add((str(a.get("resourceId")), str(a.get("appRoleId")).lower()))
        except GraphCallFailed as exc:
            status: WriteStatus = "failed" if exc.status == 404 else "open"
            return [WriteResult(key=w.key, status=status, code=code) for w, code in refused]

        def in_place(w: GroupWrite) -> bool:
            if w.group_id is not None:
                return w.group_id in groups
            return (str(w.resource_id), str(w.app_role_id).lower()) in roles

        return [
            WriteResult(key=w.key, status="present" if in_place(w) else "failed", code=None if in_place(w) else code)
            for w, code in refused
        ]

    # -- one call -----------------------------------------------------------------------------------------
    async def _call(
        self, method: Method, path: str, body: dict[str, Any] | None, *, write: bool = False, prefer: str | None = None
    ) -> dict[str, Any] | None:
        """One read or setup call, retried on 429/5xx/no answer; a 4xx raises GraphCallFailed."""
        last: Exception | None = None
        for attempt in range(1, 6):
            lane = self._lane()
            if write:
                await lane.budget.acquire(1)
                await self.graph.tenant_budget.acquire(1)
                self.writes_sent += 1
            try:
                return await self._send(lane, method, path, body, prefer=prefer)
            except APIError as exc:
                status = exc.response_status_code or 0
                if status in ACCESS_DENIED:
                    raise GraphAccessDenied(lane.app_id, status, "Group.ReadWrite.All") from None
                if status != 429 and status not in TRANSIENT_STATUSES:
                    code = getattr(getattr(exc, "error", None), "code", None)
                    raise GraphCallFailed(status, str(code) if code else None, None) from None
                last = exc
                await asyncio.sleep(_retry_after(exc.response_headers) or 0.25 * 2**attempt)
            except (TimeoutError, httpx.TransportError) as exc:
                last = exc
                await asyncio.sleep(0.25 * 2**attempt)
        raise GraphCallFailed(503, type(last).__name__ if last else None, None)

    async def _send(
        self, lane: AppLane, method: Method, path: str, body: dict[str, Any] | None, *, prefer: str | None = None
    ) -> dict[str, Any] | None:
        adapter = lane.client.request_adapter
        info = RequestInformation()
        info.http_method = method
        info.url = f"{adapter.base_url}{path}"
        info.headers.try_add("Accept", "application/json")
        if prefer:
            info.headers.try_add("Prefer", prefer)
        if body is not None:
            info.headers.try_add("Content-Type", "application/json")
            info.content = json.dumps(body, separators=(",", ":")).encode()
        raw: Any = await adapter.send_primitive_async(info, "bytes", ERROR_MAP)
        if not raw:
            return None
        parsed: Any = json.loads(raw)
        return parsed if isinstance(parsed, dict) else None
