"""Okta org emulator: System Log polling and the Users API.

Shapes from Okta's System Log API reference (docs/emulator.md): polling queries (`since`, no `until`,
`sortOrder=ASCENDING`, `limit` ≤ 1000) filter by *persistence* time and always answer a `Link: rel="next"` URL
with an opaque `after`, even on an empty page; LogEvent {uuid, published, eventType, version, severity,
displayMessage, actor, outcome{result}, target[{id, type: User, alternateId, displayName}], transaction};
`since` over 180 days ago → 400 E0000053; 90-day retention; `Authorization: SSWS <token>` (401 E0000011);
rate limits per minute with X-Rate-Limit-Limit/-Remaining/-Reset and 429 E0000047; `GET /api/v1/users/{id}`
(404 E0000007). Quirk: some events are persisted after later ones, so polling returns them out of
`published` order.
"""

from __future__ import annotations

import base64
import csv
import io
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from emulator.legacy.base import SAMPLES, Change, LateQueue, LegacyEmulator, json_response

LIMIT_MAX = 1000
MAX_SINCE = timedelta(days=180)
PROFILE_COLUMNS = ("login", "firstName", "lastName", "email", "secondEmail", "mobilePhone", "displayName", "locale",
                   "timezone")  # fmt: skip
TOP_COLUMNS = ("id", "status", "created", "activated", "statusChanged", "lastLogin", "lastUpdated", "passwordChanged")


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _parse(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


class OktaEmulator(LegacyEmulator):
    vendor = "okta"

    def __init__(
        self,
        *,
        api_token: str = "okta-api-token",  # noqa: S107 - a test double's fixed token
        retention_days: float = 90.0,
        late_rate: float = 0.15,
        late_by: int = 3,
        seed: int = 0,
    ) -> None:
        super().__init__(seed=seed)
        self.api_token = api_token
        self.retention_days = retention_days
        self._users: dict[str, dict[str, Any]] = {}
        self.events: list[tuple[int, float, dict[str, Any]]] = []  # (persistence seq, persisted at, event)
        self.late = LateQueue(self._persist, self.rng, late_rate, late_by)
        self._seq = 0

    def seed_users(self, natives: list[dict[str, Any]]) -> int:
        for user in natives:
            self._users[str(user["id"])] = user
        return len(natives)

    def seed_sample(self) -> int:
        rows = csv.DictReader(io.StringIO((SAMPLES / "okta" / "users.csv").read_text(encoding="utf-8")))
        return self.seed_users([self._from_row(row) for row in rows])

    @staticmethod
    def _from_row(row: dict[str, str]) -> dict[str, Any]:
        top: dict[str, Any] = {k: (row.get(k) or None) for k in TOP_COLUMNS}
        profile = {k: v for k, v in row.items() if k not in TOP_COLUMNS and v}
        return {**top, "type": {"id": "oty_default"}, "profile": profile,
                "credentials": {"provider": {"type": "OKTA", "name": "OKTA"}}}  # fmt: skip

    def users(self) -> list[dict[str, Any]]:
        return list(self._users.values())

    def export_text(self) -> str:
        out = io.StringIO()
        columns = list(TOP_COLUMNS) + list(PROFILE_COLUMNS)
        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for user in self._users.values():
            writer.writerow({**{k: user.get(k) or "" for k in TOP_COLUMNS}, **user.get("profile", {})})
        return out.getvalue()

    def _persist(self, event: dict[str, Any]) -> None:
        self._seq += 1
        self.events.append((self._seq, self.clock.now(), event))

    def _event(self, event_type: str, user: dict[str, Any], message: str, via: str) -> None:
        profile = user.get("profile", {})
        event = {
            "uuid": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "published": _iso(self.clock.now()),
            "eventType": event_type,
            "version": "0",
            "severity": "INFO",
            "displayMessage": message,
            "actor": ({"id": user["id"], "type": "User", "alternateId": profile.get("login"), "displayName": None}
                      if via == "user" else
                      {"id": "00uadmin0000000000", "type": "PublicClientApp", "alternateId": "sync-admin",
                       "displayName": "Admin API"}),
            "outcome": {"result": "SUCCESS"},
            "target": [{"id": user["id"], "type": "User", "alternateId": profile.get("login"),
                        "displayName": " ".join(filter(None, (profile.get("firstName"), profile.get("lastName"))))}],
            "transaction": {"type": "WEB", "id": secrets.token_urlsafe(18)},
        }  # fmt: skip
        self.late.offer(event)  # some are persisted after later events: out of `published` order

    def flush(self) -> None:
        self.late.flush()

    def apply(self, change: Change) -> str:
        now = _iso(self.clock.now())
        if change.op == "create":
            user_id = change.id or "00u" + secrets.token_hex(9)[:17]
            user: dict[str, Any] = {
                "id": user_id,
                "status": "ACTIVE",
                "created": now,
                "activated": now,
                "statusChanged": now,
                "lastLogin": None,
                "lastUpdated": now,
                "passwordChanged": now,
                "type": {"id": "oty_default"},
                "profile": dict(change.fields),
                "credentials": {"provider": {"type": "OKTA", "name": "OKTA"}},
            }
            self._users[user_id] = user
            self._event("user.lifecycle.create", user, "Create Okta user", change.via)
            self._event("user.lifecycle.activate", user, "Activate Okta user", change.via)
            return user_id
        user_id = str(change.id)
        found = self._users.get(user_id)
        if found is None:
            raise KeyError(f"no user {user_id}")
        user = found
        user["lastUpdated"] = now
        if change.op == "delete":
            if user["status"] != "DEPROVISIONED":
                user["status"] = "DEPROVISIONED"
                self._event("user.lifecycle.deactivate", user, "Deactivate Okta user", change.via)
            self._event("user.lifecycle.delete.initiated", user, "Delete Okta user", change.via)
            del self._users[user_id]
            self._event("user.lifecycle.delete.completed", user, "User deleted", change.via)
        elif change.op == "disable":
            user["status"], user["statusChanged"] = "SUSPENDED", now
            self._event("user.lifecycle.suspend", user, "Suspend Okta user", change.via)
        elif change.op == "enable":
            user["status"], user["statusChanged"] = "ACTIVE", now
            self._event("user.lifecycle.unsuspend", user, "Unsuspend Okta user", change.via)
        elif change.op == "password":
            user["passwordChanged"] = now
            kind = "user.account.update_password" if change.via == "user" else "user.account.reset_password"
            self._event(kind, user, "User update password for Okta", change.via)
        else:
            user["profile"].update(change.fields)
            self._event("user.account.update_profile", user, "User update profile for Okta", change.via)
        return user_id

    # --- HTTP ------------------------------------------------------------------------------------------------
    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/api/v1/logs", self._logs)
        app.router.add_get("/api/v1/users/{id}", self._get_user)

    def _error(self, status: int, code: str, summary: str, headers: dict[str, str] | None = None) -> web.Response:
        body = {"errorCode": code, "errorSummary": summary, "errorLink": code, "errorId": secrets.token_hex(8),
                "errorCauses": []}  # fmt: skip
        return json_response(body, status, headers)

    def _gate(self, request: web.Request) -> tuple[web.Response | None, dict[str, str]]:
        admitted, raw = self.bucket.take(self.stats)
        headers = {f"X-Rate-Limit-{k.capitalize()}": v for k, v in raw.items()}
        if not admitted:
            return self._error(429, "E0000047", "API call exceeded rate limit due to too many requests.", headers), {}
        if request.headers.get("Authorization") != f"SSWS {self.api_token}":
            return self._error(401, "E0000011", "Invalid token provided", headers), {}
        return None, headers

    async def _logs(self, request: web.Request) -> web.Response:
        refused, headers = self._gate(request)
        if refused is not None:
            return refused
        query = request.query
        if query.get("until") or query.get("sortOrder", "ASCENDING") != "ASCENDING":
            return self._error(400, "E0000001", "emulator: only polling queries (no until, ASCENDING) are emulated")
        limit = int(query.get("limit") or 100)
        if not 0 <= limit <= LIMIT_MAX:
            return self._error(400, "E0000001", "Api validation failed: limit")
        now = self.clock.now()
        with self.lock:
            edge = now - timedelta(days=self.retention_days).total_seconds()
            self.events = [e for e in self.events if _parse(e[2]["published"]) >= edge]
            if "after" in query:
                after = int(base64.urlsafe_b64decode(query["after"].encode()).decode())
                page = [e for e in self.events if e[0] > after][:limit]
            else:
                since = _parse(query["since"]) if query.get("since") else now - 7 * 86400
                if since < now - MAX_SINCE.total_seconds():
                    summary = "Invalid parameter: The since parameter is over 180 days prior to the current day."
                    return self._error(400, "E0000053", summary)
                page = [e for e in self.events if e[1] >= since][:limit]
                after = (page[0][0] - 1) if page else (self.events[-1][0] if self.events else 0)
            last = page[-1][0] if page else after
        token = base64.urlsafe_b64encode(str(last).encode()).decode()
        base = f"{request.scheme}://{request.host}/api/v1/logs"
        following = f"{base}?limit={limit}&sortOrder=ASCENDING&after={token}"
        headers["Link"] = f'<{request.url}>; rel="self", <{following}>; rel="next"'
        return json_response([e[2] for e in page], 200, headers)

    async def _get_user(self, request: web.Request) -> web.Response:
        refused, headers = self._gate(request)
        if refused is not None:
            return refused
        with self.lock:
            user = self._users.get(request.match_info["id"])
        if user is None:
            return self._error(404, "E0000007", f"Not found: Resource not found: {request.match_info['id']} (User)",
                               headers)  # fmt: skip
        return json_response(user, 200, headers)
