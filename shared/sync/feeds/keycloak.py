"""Keycloak: admin events and user events as the change feed, the Admin API user as the current state.

Events are OFF by default in a realm; docs/feeds.md says how to turn them on. The feed first reads
`GET /admin/realms/{realm}/events/config` and stops with FeedMisconfigured when neither kind is saved.
Two streams, each `…/admin-events` / `…/events` with `dateFrom=<epoch ms>&direction=asc&first&max`:
time-sorted, but equal timestamps and clock skew between nodes mean an overlap window is re-read and events
are deduped by `id` (a bounded memory in the cursor). Within one pass `first` pages on; the cursor stores the
window start and offset, so a burst larger than a read's page budget is still walked through, never skipped.
Admin events: resourceType USER (CREATE/UPDATE/DELETE on users/{id}; ACTION users/{id}/reset-password is a
password change). User events: USER_EVENT_TYPES. Expiry (retention) is the realm's eventsExpiration, or a
setting; a cursor older than it raises CursorExpired. State: `GET /admin/realms/{realm}/users/{id}` → the
keycloak reader's mapping (404 → None). Token: client credentials at the realm's token endpoint; the client's
service account needs realm-management roles view-users and view-events.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from shared.sources.base import SourceOptions
from shared.sources.keycloak import map_keycloak_user
from shared.sync.feed import ChangeHint, ChangeOp, CursorExpired, FeedPage
from shared.sync.feeds import cursor as cursors
from shared.sync.feeds.errors import FeedMisconfigured, FeedUnavailable
from shared.sync.feeds.http import LegacyHttp
from shared.sync.feeds.options import FeedCredentials, FeedOptions
from shared.sync.feeds.records import ApiState, ReaderMapping
from shared.sync.feeds.tokens import ClientCredentialsToken

SOURCE = "keycloak"

# User event types (Keycloak's org.keycloak.events.EventType) that change a user. UPDATE_PASSWORD is what
# releases up to 25 record; newer ones record UPDATE_CREDENTIAL with details.credential_type.
USER_EVENT_TYPES: dict[str, ChangeOp] = {
    "REGISTER": "create",
    "UPDATE_PROFILE": "update",
    "UPDATE_EMAIL": "update",
    "VERIFY_EMAIL": "update",
    "FEDERATED_IDENTITY_LINK": "update",
    "REMOVE_FEDERATED_IDENTITY": "update",
    "UPDATE_PASSWORD": "password",
    "RESET_PASSWORD": "password",
    "UPDATE_CREDENTIAL": "password",
    "DELETE_ACCOUNT": "delete",
}
_ADMIN_OPS: dict[str, ChangeOp] = {"CREATE": "create", "UPDATE": "update", "DELETE": "delete", "ACTION": "update"}
STREAMS = ("admin", "user")


def feed_location(feed_url: str) -> tuple[str, str]:
    """(server base URL, realm) from https://HOST[/prefix]/realms/REALM or …/admin/realms/REALM."""
    parts = urlsplit(feed_url)
    segments = [s for s in parts.path.split("/") if s]
    if not parts.netloc or "realms" not in segments or segments.index("realms") + 1 >= len(segments):
        raise FeedMisconfigured(
            f"keycloak: --feed {feed_url!r} must name the realm, e.g. https://sso.example.com/realms/acme"
        )
    at = segments.index("realms")
    prefix = segments[: at - 1] if at > 0 and segments[at - 1] == "admin" else segments[:at]
    base = f"{parts.scheme}://{parts.netloc}" + "".join(f"/{s}" for s in prefix)
    return base, segments[at + 1]


def _event_id(event: dict[str, Any]) -> str:
    """Keycloak's event id; releases before ids existed get a digest of the event's content."""
    if event.get("id"):
        return str(event["id"])
    raw = json.dumps(event, sort_keys=True, separators=(",", ":")).encode()
    return "kc-" + hashlib.blake2b(raw, digest_size=12).hexdigest()


def admin_hint(event: dict[str, Any]) -> ChangeHint | None:
    if event.get("error") or event.get("resourceType") != "USER":
        return None
    path = str(event.get("resourcePath") or "").strip("/").split("/")
    if len(path) < 2 or path[0] != "users" or not path[1]:
        return None
    op = _ADMIN_OPS.get(str(event.get("operationType") or ""))
    if op is None:
        return None
    if len(path) > 2:
        op = "password" if path[2] == "reset-password" else "update"
    return ChangeHint(change_id=_event_id(event), legacy_id=path[1], op=op, occurred_at=_at(event))


def user_hint(event: dict[str, Any]) -> ChangeHint | None:
    kind = str(event.get("type") or "")
    op = USER_EVENT_TYPES.get(kind)
    user_id = event.get("userId")
    if op is None or not user_id or event.get("error"):
        return None
    if kind == "UPDATE_CREDENTIAL":
        credential = str((event.get("details") or {}).get("credential_type") or "password")
        op = "password" if credential == "password" else "update"
    return ChangeHint(change_id=_event_id(event), legacy_id=str(user_id), op=op, occurred_at=_at(event))


def _at(event: dict[str, Any]) -> datetime | None:
    value = event.get("time")
    return datetime.fromtimestamp(value / 1000, UTC) if isinstance(value, int | float) else None


class KeycloakClient:
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
        base, self.realm = feed_location(feed_url)
        token_realm = options.keycloak_token_realm or self.realm
        self.token = ClientCredentialsToken(
            SOURCE,
            f"{base}/realms/{quote(token_realm)}/protocol/openid-connect/token",
            credentials.client_id,
            credentials.client_secret,
            form=True,
            clock=clock,
        )
        self.http = LegacyHttp.for_feed(
            SOURCE, base, self.token.header, options, clock=clock, sleep=sleep, client=client
        )
        self.token.http = self.http
        self.admin = f"/admin/realms/{quote(self.realm)}"


class KeycloakFeed:
    source = SOURCE

    def __init__(self, client: KeycloakClient, options: FeedOptions, clock: Callable[[], float] = time.time) -> None:
        self._api = client
        self._options = options
        self._clock = clock
        self._config: dict[str, Any] | None = None
        self.retention: timedelta | None = (
            timedelta(seconds=options.keycloak_events_expiration_s) if options.keycloak_events_expiration_s else None
        )

    async def _events_config(self) -> dict[str, Any]:
        if self._config is None:
            reply = await self._api.http.get(f"{self._api.admin}/events/config")
            config = reply.body if reply.status == 200 and isinstance(reply.body, dict) else {}
            if not config.get("eventsEnabled") and not config.get("adminEventsEnabled"):
                raise FeedMisconfigured(
                    f"keycloak: realm {self._api.realm!r} saves no events (they are off by default): turn on Realm "
                    "settings → Events → User events settings → Save events, and Admin events settings → Save events "
                    "(see docs/feeds.md)"
                )
            expiration = config.get("eventsExpiration")
            if self.retention is None and isinstance(expiration, int | float) and expiration > 0:
                self.retention = timedelta(seconds=expiration)
            self._config = config
        return self._config

    async def read(self, cursor: str | None) -> FeedPage:
        config = await self._events_config()
        state = cursors.decode(SOURCE, cursor) or {}
        now_ms = int(self._clock() * 1000)
        edge = datetime.fromtimestamp(now_ms / 1000, UTC) - self.retention if self.retention else None
        hints: list[ChangeHint] = []
        more = False
        out: dict[str, Any] = {}
        for stream in STREAMS:
            enabled = config.get("adminEventsEnabled") if stream == "admin" else config.get("eventsEnabled")
            saved = state.get(stream)
            if not enabled:
                if saved is not None:
                    out[stream] = saved
                continue
            stream_hints, stream_state, stream_more = await self._read_stream(stream, saved, now_ms, edge)
            hints.extend(stream_hints)
            out[stream] = stream_state
            more = more or stream_more
        return FeedPage(hints=hints, cursor=cursors.encode(SOURCE, out), more=more, oldest_available=edge)

    async def _read_stream(
        self, stream: str, saved: dict[str, Any] | None, now_ms: int, edge: datetime | None
    ) -> tuple[list[ChangeHint], dict[str, Any], bool]:
        overlap_ms = int(self._options.overlap_s * 1000)
        if saved is None:
            start = self._options.start_at
            window = int(start.timestamp() * 1000) - overlap_ms if start else 0
            first, top, polled = 0, 0, now_ms
            seen = cursors.SeenIds(limit=self._options.seen_limit)
        else:
            window, first, top = int(saved["from"]), int(saved["first"]), int(saved["top"])
            seen = cursors.SeenIds.load(saved.get("seen"), self._options.seen_limit)
            polled = int(saved.get("polled") or 0)
            if edge is not None and polled < int(edge.timestamp() * 1000):
                raise CursorExpired(
                    f"keycloak: the {stream}-event cursor last caught up at "
                    f"{datetime.fromtimestamp(polled / 1000, UTC).isoformat()}, beyond the realm's event expiry; "
                    "run a snapshot diff"
                )
        path = f"{self._api.admin}/admin-events" if stream == "admin" else f"{self._api.admin}/events"
        size = self._options.keycloak_page_size
        hints: list[ChangeHint] = []
        more = False
        for page_no in range(self._options.max_pages_per_read):
            params: dict[str, Any] = {"dateFrom": str(window), "direction": "asc", "first": first, "max": size}
            if stream == "admin":
                params["resourceTypes"] = "USER"
            else:
                params["type"] = list(USER_EVENT_TYPES)
            reply = await self._api.http.get(path, params)
            if reply.status != 200:
                raise FeedUnavailable(f"keycloak: GET {stream} events answered {reply.status}")
            events = reply.body if isinstance(reply.body, list) else []
            for event in events:
                event_id = _event_id(event)
                at = int(event.get("time") or 0)
                top = max(top, at)
                if event_id in seen:
                    continue
                seen.add(event_id, at)
                hint = admin_hint(event) if stream == "admin" else user_hint(event)
                if hint is not None:
                    hints.append(hint)
            first += len(events)
            if len(events) < size:
                # Caught up: the next pass re-reads the overlap window (ids already seen are skipped). The window
                # follows the clock, not the newest event, so an idle realm never looks expired.
                window = max(window, now_ms - overlap_ms)
                first, polled = 0, now_ms
                seen.keep_since(window)
                break
            if page_no == self._options.max_pages_per_read - 1:
                more = True
        return hints, {"from": window, "first": first, "top": top, "polled": polled, "seen": seen.dump()}, more


def keycloak_state(client: KeycloakClient, options: SourceOptions) -> ApiState:
    mapping = ReaderMapping(options)
    return ApiState(
        client.http,
        lambda legacy_id: f"{client.admin}/users/{quote(legacy_id, safe='')}",
        lambda native: map_keycloak_user(native, mapping.fieldmap, mapping.providers),
    )
