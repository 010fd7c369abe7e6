"""Auth0: tenant logs as the change feed, the Management API user as the current state.

Feed: `GET /api/v2/logs?from=<log_id>&take=100` (checkpoint paging, ordered by log_id — not event time — so
records Auth0 indexes late are not skipped), following the `Link: rel="next"` URL, until an empty page or
`max_pages_per_read`. Hints come from the log types that mean a user changed (USER_CHANGE_TYPES); `sapi`
(Management API writes) are read from `details.request` (method + `/api/v2/users/{id}` path). The cursor is the
last log_id and its date; a cursor whose log is older than the plan's retention raises CursorExpired.
With no cursor the feed starts at `start_at` minus the overlap (a date search for the first log id), else at
the oldest retained log. State: `GET /api/v2/users/{id}` → the auth0 reader's mapping (404 → None).
Token: client credentials at `POST /oauth/token` (audience https://<tenant>/api/v2/); scopes read:logs,
read:users. Retries/ids: hints carry the log_id as change_id; re-reading a cursor re-yields the same hints.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import httpx

from shared.sources.auth0 import map_auth0_user
from shared.sources.base import SourceOptions
from shared.sync.feed import ChangeHint, ChangeOp, CursorExpired, FeedPage
from shared.sync.feeds import cursor as cursors
from shared.sync.feeds.http import LegacyHttp, feed_origin, link_next
from shared.sync.feeds.moments import iso_moment, parse_moment
from shared.sync.feeds.options import FeedCredentials, FeedOptions
from shared.sync.feeds.records import ApiState, ReaderMapping
from shared.sync.feeds.tokens import ClientCredentialsToken

SOURCE = "auth0"
TAKE = 100  # the documented maximum per request

# Log event type codes (auth0 docs logs/references/log-event-type-codes) that mean "this user changed".
USER_CHANGE_TYPES: dict[str, ChangeOp] = {
    "ss": "create",  # Success Signup
    "sui": "create",  # Success users import (a bulk job: no per-user id — see docs/feeds.md)
    "scp": "password",  # Success Change Password
    "sce": "update",  # Success Change Email
    "scu": "update",  # Success Change Username
    "scpn": "update",  # Success Change Phone Number
    "sv": "update",  # Success Verification Email (email_verified flips)
    "du": "delete",  # Deleted User
    "sdu": "delete",  # Success User Deletion
    "sapi": "update",  # Success API Operation: refined from details.request below
}
_USERS_PATH = "/api/v2/users"


def _sapi_hint(log: dict[str, Any]) -> tuple[str, ChangeOp] | None:
    """(user id, op) for a Management API write on a user; None for writes on anything else."""
    request = (log.get("details") or {}).get("request") or {}
    method = str(request.get("method") or "").lower()
    path = str(request.get("path") or "").split("?")[0]
    if not path.startswith(_USERS_PATH):
        return None
    rest = path[len(_USERS_PATH) :].strip("/")
    if not rest:
        if method != "post":
            return None
        answer = ((log.get("details") or {}).get("response") or {}).get("body") or {}
        created = answer.get("user_id") if isinstance(answer, dict) else None
        return (str(created), "create") if created else None
    user_id, _, sub = rest.partition("/")
    user_id = unquote(user_id)
    if method == "delete" and not sub:
        return user_id, "delete"
    raw_body = request.get("body")
    body: dict[str, Any] = raw_body if isinstance(raw_body, dict) else {}
    if not sub and "password" in body:
        return user_id, "password"
    if not sub and "blocked" in body:
        return user_id, "disable" if body["blocked"] else "enable"
    return user_id, "update"


def hint_for(log: dict[str, Any]) -> ChangeHint | None:
    kind = str(log.get("type") or "")
    op = USER_CHANGE_TYPES.get(kind)
    log_id = log.get("log_id") or log.get("_id")
    if op is None or not log_id:
        return None
    user_id: str | None = log.get("user_id")
    if kind == "sapi":
        found = _sapi_hint(log)
        if found is None:
            return None
        user_id, op = found
    if not user_id:
        return None
    return ChangeHint(change_id=str(log_id), legacy_id=str(user_id), op=op, occurred_at=parse_moment(log.get("date")))


class Auth0Client:
    """The Management API session both the feed and the state use (one token, one rate gate)."""

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
        base = feed_origin(SOURCE, feed_url, "https://TENANT.auth0.com")
        self.token = ClientCredentialsToken(
            SOURCE,
            f"{base}/oauth/token",
            credentials.client_id,
            credentials.client_secret,
            form=False,
            extra={"audience": options.auth0_audience or f"{base}/api/v2/"},
            clock=clock,
        )
        self.http = LegacyHttp.for_feed(
            SOURCE, base, self.token.header, options, clock=clock, sleep=sleep, client=client
        )
        self.token.http = self.http


class Auth0Feed:
    source = SOURCE

    def __init__(self, client: Auth0Client, options: FeedOptions, clock: Callable[[], float] = time.time) -> None:
        self._api = client
        self._options = options
        self._clock = clock
        self.retention: timedelta | None = timedelta(days=options.auth0_log_retention_days)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    async def _first_log(self) -> dict[str, Any] | None:
        """The log a feed without a cursor starts at (it is emitted too: `from` is exclusive)."""
        params: dict[str, Any] = {"sort": "date:1", "per_page": 1, "page": 0}
        if self._options.start_at is not None:
            start = self._options.start_at - self._options.overlap
            params["q"] = f"date:[{iso_moment(start)} TO *]"
        reply = await self._api.http.get("/api/v2/logs", params)
        logs = reply.body if isinstance(reply.body, list) else []
        return logs[0] if logs else None

    async def read(self, cursor: str | None) -> FeedPage:
        state = cursors.decode(SOURCE, cursor)
        assert self.retention is not None
        edge = self._now() - self.retention
        hints: list[ChangeHint] = []
        if state is None:
            first = await self._first_log()
            if first is None:
                return FeedPage(hints=[], cursor=None, oldest_available=edge)
            hint = hint_for(first)
            if hint is not None:
                hints.append(hint)
            last_id, last_at = str(first["log_id"]), str(first.get("date") or "")
        else:
            last_id, last_at = str(state["from"]), str(state.get("at") or "")
            # Logs after the cursor are safe while we looked at least once per retention period: anything newer
            # than our last look is younger than the retention edge. An idle tenant never looks expired.
            polled = parse_moment(state.get("polled"))
            if polled is not None and polled < edge:
                raise CursorExpired(
                    f"auth0: the feed last caught up on {polled.isoformat()}, longer ago than the "
                    f"{self._options.auth0_log_retention_days:g}-day log retention; run a snapshot diff"
                )
            polled_text = str(state.get("polled") or "")
        if state is None:
            polled_text = ""
        url: str | None = None
        more = False
        caught_up = False
        for page_no in range(self._options.max_pages_per_read):
            reply = await (
                self._api.http.get(url) if url else self._api.http.get("/api/v2/logs", {"from": last_id, "take": TAKE})
            )
            logs = reply.body if isinstance(reply.body, list) else []
            if not logs:
                caught_up = True
                break
            for log in logs:
                hint = hint_for(log)
                if hint is not None:
                    hints.append(hint)
            last_id, last_at = str(logs[-1]["log_id"]), str(logs[-1].get("date") or "")
            url = _next_url(reply.headers, last_id)
            if page_no == self._options.max_pages_per_read - 1:
                more = True
        if caught_up or not polled_text:
            polled_text = self._now().isoformat()
        return FeedPage(
            hints=hints,
            cursor=cursors.encode(SOURCE, {"from": last_id, "at": last_at, "polled": polled_text}),
            more=more,
            oldest_available=edge,
        )


def _next_url(headers: Mapping[str, str], last_id: str) -> str | None:
    """Auth0's next link when it continues from the page's last log, else None (we build from= ourselves)."""
    link = link_next(headers)
    if link is None:
        return None
    values = parse_qs(urlsplit(link).query).get("from")
    return link if values and values[0] == last_id else None


def auth0_state(client: Auth0Client, options: SourceOptions) -> ApiState:
    mapping = ReaderMapping(options)
    return ApiState(
        client.http,
        lambda legacy_id: f"/api/v2/users/{quote(legacy_id, safe='')}",
        lambda native: map_auth0_user(native, mapping.fieldmap, mapping.providers),
    )
