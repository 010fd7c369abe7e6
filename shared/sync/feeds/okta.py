"""Okta: the System Log as the change feed, the Users API as the current state.

Feed: a polling query `GET /api/v1/logs?since=…&sortOrder=ASCENDING&limit=1000` (no `until`), then always the
opaque `Link: rel="next"` URL, which the cursor stores. Polling filters by *persistence* time, so events may
come out of `published` order and an event may be seen twice when a query is restarted: hints are deduped by
event `uuid` (a bounded memory in the cursor). Okta keeps 90 days; a cursor last advanced longer ago than that
— or a `since` older than 180 days, which Okta refuses (400 E0000053) — raises CursorExpired.
Hints: USER_EVENT_TYPES for each target of type User, outcome SUCCESS. State: `GET /api/v1/users/{id}` → the
okta reader's mapping (404 → None: deleted). Auth: `Authorization: SSWS <API token>` (a read-only admin's token).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from shared.sources.base import SourceOptions
from shared.sources.okta import map_okta_row
from shared.sync.feed import ChangeHint, ChangeOp, CursorExpired, FeedPage
from shared.sync.feeds import cursor as cursors
from shared.sync.feeds.errors import FeedMisconfigured, FeedUnavailable
from shared.sync.feeds.http import LegacyHttp, feed_origin, link_next
from shared.sync.feeds.moments import iso_moment, parse_moment
from shared.sync.feeds.options import FeedCredentials, FeedOptions
from shared.sync.feeds.records import ApiState, ReaderMapping, flat_strings

SOURCE = "okta"
MAX_SINCE = timedelta(days=180)  # older `since` values are refused

# System Log event types (developer.okta.com System Log API / Event Types catalog) that change a user.
USER_EVENT_TYPES: dict[str, ChangeOp] = {
    "user.lifecycle.create": "create",
    "user.lifecycle.activate": "enable",
    "user.lifecycle.reactivate": "enable",
    "user.lifecycle.unsuspend": "enable",
    "user.lifecycle.deactivate": "disable",
    "user.lifecycle.suspend": "disable",
    "user.lifecycle.delete.initiated": "delete",
    "user.lifecycle.delete.completed": "delete",
    "user.account.update_profile": "update",
    "user.account.lock": "update",
    "user.account.unlock": "update",
    "user.account.update_password": "password",
    "user.account.reset_password": "password",
}


def hints_for(event: dict[str, Any]) -> list[ChangeHint]:
    op = USER_EVENT_TYPES.get(str(event.get("eventType") or ""))
    uuid = event.get("uuid")
    outcome = (event.get("outcome") or {}).get("result", "SUCCESS")
    if op is None or not uuid or outcome not in ("SUCCESS", None):
        return []
    published = parse_moment(event.get("published"))
    users = [t for t in event.get("target") or () if isinstance(t, dict) and t.get("type") == "User" and t.get("id")]
    return [
        ChangeHint(change_id=f"{uuid}" if len(users) == 1 else f"{uuid}:{t['id']}", legacy_id=str(t["id"]), op=op,
                   occurred_at=published)
        for t in users
    ]  # fmt: skip


class OktaClient:
    def __init__(
        self,
        feed_url: str,
        credentials: FeedCredentials,
        options: FeedOptions,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        if credentials.api_token is None:
            raise FeedMisconfigured("okta: needs an API token (LEGACY_API_TOKEN or api_token in a credentials file)")
        token = credentials.api_token

        async def authorize() -> dict[str, str]:
            return {"Authorization": f"SSWS {token.get_secret_value()}"}

        self.http = LegacyHttp.for_feed(
            SOURCE,
            feed_origin(SOURCE, feed_url, "https://ORG.okta.com"),
            authorize,
            options,
            clock=clock,
            sleep=sleep,
            client=client,
        )


class OktaFeed:
    source = SOURCE

    def __init__(self, client: OktaClient, options: FeedOptions, clock: Callable[[], float] = time.time) -> None:
        self._api = client
        self._options = options
        self._clock = clock
        self.retention: timedelta | None = timedelta(days=options.okta_retention_days)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    async def read(self, cursor: str | None) -> FeedPage:
        state = cursors.decode(SOURCE, cursor)
        now = self._now()
        assert self.retention is not None
        edge = now - self.retention
        if state is None:
            start = self._options.start_at - self._options.overlap if self._options.start_at else edge
            if start < now - MAX_SINCE:
                raise CursorExpired(f"okta: the start point {start.isoformat()} is over 180 days ago; Okta refuses it")
            url = None
            params: dict[str, Any] | None = {
                "since": iso_moment(max(start, edge)),
                "sortOrder": "ASCENDING",
                "limit": self._options.okta_page_limit,
            }
            seen = cursors.SeenIds(limit=self._options.seen_limit)
        else:
            polled = parse_moment(state.get("polled"))
            if polled is not None and polled < edge:
                raise CursorExpired(
                    f"okta: the cursor last moved on {polled.isoformat()}, beyond the System Log's "
                    f"{self._options.okta_retention_days:g}-day retention; run a snapshot diff"
                )
            url, params = str(state["next"]), None
            seen = cursors.SeenIds.load(state.get("seen"), self._options.seen_limit)
        hints: list[ChangeHint] = []
        more = False
        newest_ms = 0
        for page_no in range(self._options.max_pages_per_read):
            reply = await self._api.http.get(url or "/api/v1/logs", params)
            if reply.status == 400:
                # E0000053 "The since parameter is over 180 days prior to the current day" (or an expired link)
                raise CursorExpired("okta: the System Log refused the cursor (400); run a snapshot diff")
            events = reply.body if isinstance(reply.body, list) else []
            next_link = link_next(reply.headers)
            if next_link is None:
                raise FeedUnavailable("okta: a polling query answered without a next link")
            url, params = next_link, None
            for event in events:
                uuid = str(event.get("uuid") or "")
                published = parse_moment(event.get("published"))
                at_ms = int(published.timestamp() * 1000) if published else 0
                newest_ms = max(newest_ms, at_ms)
                if not uuid or uuid in seen:
                    continue
                seen.add(uuid, at_ms)
                hints.extend(hints_for(event))
            if len(events) < self._options.okta_page_limit:
                break
            if page_no == self._options.max_pages_per_read - 1:
                more = True
        if newest_ms:
            seen.keep_since(newest_ms - int(self._options.overlap_s * 1000))
        assert url is not None
        state_out = {"next": _relative(url), "polled": iso_moment(now), "seen": seen.dump()}
        return FeedPage(hints=hints, cursor=cursors.encode(SOURCE, state_out), more=more, oldest_available=edge)


def _relative(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def okta_state(client: OktaClient, options: SourceOptions) -> ApiState:
    mapping = ReaderMapping(options)
    return ApiState(
        client.http,
        lambda legacy_id: f"/api/v1/users/{quote(legacy_id, safe='')}",
        lambda native: map_okta_row(okta_columns(native), mapping.fieldmap),
    )


def okta_columns(user: dict[str, Any]) -> dict[str, str]:
    """A Users API user as the CSV export's columns: profile attributes plus id, status and the timestamps."""
    raw = user.get("profile")
    profile: dict[str, Any] = raw if isinstance(raw, dict) else {}
    top = {k: user.get(k) for k in ("id", "status", "created", "activated", "statusChanged", "lastLogin",
                                     "lastUpdated", "passwordChanged")}  # fmt: skip
    return {**flat_strings(profile), **flat_strings(top)}
