"""Azure AD B2C: Graph directory audits as the change feed (B2C has no users delta query), Graph users as state.

Feed: `GET /v1.0/auditLogs/directoryAudits?$filter=activityDateTime ge <t> and category eq 'UserManagement'
&$orderby=activityDateTime asc&$top=1000`, following `@odata.nextLink`. Audit records can appear minutes late,
so each poll re-reads an overlap window and skips audit ids already seen. Hints: targetResources of type User;
operationType Add → create, Delete → delete, an activity naming "password" → password, else update. Retention 7
days (B2C), so a cursor that last caught up longer ago raises CursorExpired. The reporting quota (5 requests /
10 s per app) answers 429 with Retry-After, which LegacyHttp honours. State: `GET /v1.0/users/{id}?$select=…`
mapped by the b2c reader's `graph_user`. Auth: a bearer token from an azure-identity credential (the
emulator's unsigned token on loopback); the app needs AuditLog.Read.All and User.Read.All.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
from azure.core.credentials_async import AsyncTokenCredential

from shared.adapters.graph.legacy_users import SELECT
from shared.sources.b2c import graph_user
from shared.sources.base import SourceOptions
from shared.sync.feed import ChangeHint, ChangeOp, CursorExpired, FeedPage
from shared.sync.feeds import cursor as cursors
from shared.sync.feeds.errors import FeedUnavailable
from shared.sync.feeds.http import LegacyHttp, feed_origin
from shared.sync.feeds.moments import iso_moment, parse_moment
from shared.sync.feeds.options import FeedOptions
from shared.sync.feeds.records import ApiState, ReaderMapping

SOURCE = "b2c"
RETENTION = timedelta(days=7)
_OPS: dict[str, ChangeOp] = {"Add": "create", "Delete": "delete", "Update": "update"}


def hints_for(audit: dict[str, Any]) -> list[ChangeHint]:
    if str(audit.get("result") or "success").lower() != "success":
        return []
    activity = str(audit.get("activityDisplayName") or "")
    op: ChangeOp = _OPS.get(str(audit.get("operationType") or ""), "update")
    if "password" in activity.lower():
        op = "password"
    elif activity.lower().startswith("disable account"):
        op = "disable"
    elif activity.lower().startswith("enable account"):
        op = "enable"
    at = parse_moment(audit.get("activityDateTime"))
    users = [t for t in audit.get("targetResources") or ()
             if isinstance(t, dict) and str(t.get("type") or t.get("Type")) == "User" and t.get("id")]  # fmt: skip
    return [
        ChangeHint(change_id=str(audit["id"]) if len(users) == 1 else f"{audit['id']}:{t['id']}",
                   legacy_id=str(t["id"]), op=op, occurred_at=at)
        for t in users
    ]  # fmt: skip


class B2CClient:
    def __init__(
        self,
        graph_url: str,
        credential: AsyncTokenCredential,
        options: FeedOptions,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        origin = feed_origin(SOURCE, graph_url, "https://graph.microsoft.com")

        async def authorize() -> dict[str, str]:
            token = await credential.get_token("https://graph.microsoft.com/.default")
            return {"Authorization": f"Bearer {token.token}"}

        self.http = LegacyHttp.for_feed(
            SOURCE, f"{origin}/v1.0", authorize, options, clock=clock, sleep=sleep, client=client
        )


class B2CFeed:
    source = SOURCE

    def __init__(self, client: B2CClient, options: FeedOptions, clock: Callable[[], float] = time.time) -> None:
        self._api = client
        self._options = options
        self._clock = clock
        self.retention: timedelta | None = RETENTION

    async def read(self, cursor: str | None) -> FeedPage:
        state = cursors.decode(SOURCE, cursor)
        now = datetime.fromtimestamp(self._clock(), UTC)
        edge = now - RETENTION
        overlap = self._options.overlap
        if state is None:
            start = (self._options.start_at - overlap) if self._options.start_at else edge
            window, seen, url = max(start, edge), cursors.SeenIds(limit=self._options.seen_limit), None
        else:
            polled = parse_moment(state.get("polled"))
            if polled is not None and polled < edge:
                raise CursorExpired(
                    f"b2c: the feed last caught up on {polled.isoformat()}, beyond the 7-day audit retention; "
                    "run a snapshot diff"
                )
            window = parse_moment(state["from"]) or edge
            seen = cursors.SeenIds.load(state.get("seen"), self._options.seen_limit)
            url = state.get("next")
        params: dict[str, Any] | None = None
        if url is None:
            params = {
                "$filter": f"activityDateTime ge {iso_moment(window)} and category eq 'UserManagement'",
                "$orderby": "activityDateTime asc",
                "$top": 1000,
            }
        hints: list[ChangeHint] = []
        more, caught_up = False, False
        for page_no in range(self._options.max_pages_per_read):
            reply = await self._api.http.get(url or "/auditLogs/directoryAudits", params)
            if reply.status != 200 or not isinstance(reply.body, dict):
                raise FeedUnavailable(f"b2c: directoryAudits answered {reply.status}")
            for audit in reply.body.get("value") or []:
                audit_id = str(audit.get("id") or "")
                at = parse_moment(audit.get("activityDateTime"))
                if not audit_id or audit_id in seen:
                    continue
                seen.add(audit_id, int(at.timestamp() * 1000) if at else 0)
                hints.extend(hints_for(audit))
            url, params = reply.body.get("@odata.nextLink"), None
            if url is None:
                caught_up = True
                break
            if page_no == self._options.max_pages_per_read - 1:
                more = True
        out: dict[str, Any] = {
            "from": iso_moment(window),
            "seen": seen.dump(),
            "polled": state.get("polled") if state else None,
        }
        if caught_up:
            window = max(window, now - overlap)
            seen.keep_since(int(window.timestamp() * 1000))
            out = {"from": iso_moment(window), "seen": seen.dump(), "polled": iso_moment(now)}
        else:
            out["next"] = url
            out["polled"] = out["polled"] or iso_moment(now)
        return FeedPage(hints=hints, cursor=cursors.encode(SOURCE, out), more=more, oldest_available=edge)


def b2c_state(client: B2CClient, options: SourceOptions) -> ApiState:
    mapping = ReaderMapping(options)
    return ApiState(
        client.http,
        lambda legacy_id: f"/users/{quote(legacy_id, safe='')}",
        lambda native: graph_user(0, native, mapping.fieldmap, mapping.providers),
        {"$select": ",".join(SELECT)},
    )
