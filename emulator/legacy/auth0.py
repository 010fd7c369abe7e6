"""Auth0 tenant emulator: Management API logs and users, and the client-credentials token endpoint.

Shapes from Auth0's docs (docs/emulator.md, "Legacy-side emulators"): `GET /api/v2/logs?from=&take=` checkpoint
paging ordered by log_id (exclusive `from`, take ≤ 100, `Link: rel="next"`, an empty page's next link repeats the
request), search paging (`sort=date:1`, `q=date:[X TO *]`, `page`, `per_page`, 1,000 results at most);
log records {log_id, date, type, description, client_id, user_id, details{request, response}}; `sapi` for
Management API writes with lower-case methods; `GET /api/v2/users/{id}` (404 inexistent_user); rate limit headers
x-ratelimit-limit/-remaining/-reset (UTC epoch seconds) and 429. Quirk: a fraction of records is indexed late —
a later log_id than records that happened after it — which is why consumers must page by log_id.
Retention: logs older than `retention_days` are gone.
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote

from aiohttp import web

from emulator.legacy.base import SAMPLES, Change, LateQueue, LegacyEmulator, json_response

TAKE_MAX = 100
_DATE_Q = re.compile(r"date:\[(\S+) TO \*\]")


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Auth0Emulator(LegacyEmulator):
    vendor = "auth0"

    def __init__(
        self,
        *,
        client_id: str = "sync-client",
        client_secret: str = "sync-secret",  # noqa: S107 - a test double's fixed secret
        retention_days: float = 1.0,
        late_rate: float = 0.1,
        late_by: int = 3,
        seed: int = 0,
    ) -> None:
        super().__init__(seed=seed)
        self.client_id, self.client_secret = client_id, client_secret
        self.retention_days = retention_days
        self._users: dict[str, dict[str, Any]] = {}
        self.logs: list[dict[str, Any]] = []  # ingestion (log_id) order
        self.late = LateQueue(self._ingest, self.rng, late_rate, late_by)
        self._seq = 0
        self._tokens: set[str] = set()

    # --- users and logs --------------------------------------------------------------------------------------
    def seed_users(self, natives: list[dict[str, Any]]) -> int:
        for native in natives:
            # The API never returns hashes; a hash-export line (`_id.$oid`) is the user `auth0|<oid>`.
            user = {k: v for k, v in native.items() if k not in ("passwordHash", "_id", "alt_id", "connection")}
            if "user_id" not in user:
                oid = native.get("alt_id") or (native.get("_id") or {}).get("$oid")
                user["user_id"] = f"auth0|{oid}"
            self._users[str(user["user_id"])] = user
        return len(natives)

    def seed_sample(self) -> int:
        lines = (SAMPLES / "auth0" / "users.ndjson").read_text(encoding="utf-8").splitlines()
        return self.seed_users([json.loads(line) for line in lines if line.strip()])

    def users(self) -> list[dict[str, Any]]:
        return list(self._users.values())

    def export_text(self) -> str:
        return "".join(json.dumps(u) + "\n" for u in self._users.values())

    def _ingest(self, record: dict[str, Any]) -> None:
        self._seq += 1
        stamp = datetime.fromtimestamp(self.clock.now(), UTC).strftime("%Y%m%d%H%M%S%f")[:17]
        record["log_id"] = f"900{stamp}{self._seq:036d}"
        self.logs.append(record)

    def _log(self, record: dict[str, Any]) -> None:
        record.setdefault("date", _iso(self.clock.now()))
        record.setdefault("client_id", self.client_id)
        record.setdefault("ip", "127.0.0.1")
        self.late.offer(record)  # some are indexed after the next few: a later id, an earlier date

    def flush(self) -> None:
        self.late.flush()

    def _sapi(self, method: str, path: str, body: dict[str, Any], response: dict[str, Any], what: str) -> None:
        self._log({
            "type": "sapi",
            "description": what,
            "details": {
                "request": {"method": method, "path": path, "query": {}, "body": body, "channel": "api"},
                "response": {"statusCode": 201 if method == "post" else 200, "body": response},
            },
        })  # fmt: skip

    def apply(self, change: Change) -> str:
        now = _iso(self.clock.now())
        fields = dict(change.fields)
        if change.op == "create":
            user_id = change.id or f"auth0|{secrets.token_hex(12)}"
            identity = {"provider": "auth0", "user_id": user_id.split("|", 1)[-1],
                        "connection": "Username-Password-Authentication", "isSocial": False}  # fmt: skip
            created: dict[str, Any] = {"user_id": user_id, "created_at": now, "updated_at": now,
                                       "email_verified": False, "identities": [identity], **fields}  # fmt: skip
            self._users[user_id] = created
            if change.via == "user":
                self._log({"type": "ss", "description": "", "user_id": user_id, "user_name": created.get("email")})
            else:
                self._sapi("post", "/api/v2/users", fields, {"user_id": user_id}, "Create a User")
            return user_id
        user_id = str(change.id)
        user = self._users.get(user_id)
        if user is None:
            raise KeyError(f"no user {user_id}")
        path = f"/api/v2/users/{quote(user_id, safe='')}"
        if change.op == "delete":
            del self._users[user_id]
            if change.via == "user":
                self._log({"type": "du", "description": "User was deleted", "user_id": user_id})
            else:
                self._sapi("delete", path, {}, {}, "Delete a User")
            return user_id
        if change.op in ("disable", "enable"):
            fields = {"blocked": change.op == "disable"}
        elif change.op == "password":
            user["last_password_reset"] = now
            user["updated_at"] = now
            if change.via == "user":
                self._log({"type": "scp", "description": "Password changed", "user_id": user_id})
            else:
                self._sapi("patch", path, {"password": "********"}, {"user_id": user_id}, "Update a User")
            return user_id
        user.update(fields)
        user["updated_at"] = now
        if change.op == "email" and change.via == "user":
            self._log({"type": "sce", "description": "Email changed", "user_id": user_id})
        else:
            self._sapi("patch", path, fields, {"user_id": user_id}, "Update a User")
        return user_id

    def _retained(self) -> list[dict[str, Any]]:
        edge = _iso(self.clock.now() - timedelta(days=self.retention_days).total_seconds())
        self.logs = [log for log in self.logs if log["date"] >= edge]
        return self.logs

    # --- HTTP ------------------------------------------------------------------------------------------------
    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/oauth/token", self._token)
        app.router.add_get("/api/v2/logs", self._list_logs)
        app.router.add_get("/api/v2/logs/{id}", self._get_log)
        app.router.add_get("/api/v2/users/{id}", self._get_user)

    def _limited(self) -> tuple[web.Response | None, dict[str, str]]:
        admitted, raw = self.bucket.take(self.stats)
        headers = {f"x-ratelimit-{k}": v for k, v in raw.items()}
        if admitted:
            return None, headers
        body = {"statusCode": 429, "error": "Too Many Requests", "errorCode": "too_many_requests",
                "message": "Global limit has been reached"}  # fmt: skip
        return json_response(body, 429, headers), headers

    def _guard(self, request: web.Request) -> tuple[web.Response | None, dict[str, str]]:
        """The rate limit, then the bearer token: (a refusal or None, the rate-limit headers)."""
        refused, headers = self._limited()
        header = request.headers.get("Authorization", "")
        if refused is None and not (header.startswith("Bearer ") and header[7:] in self._tokens):
            refused = json_response({"statusCode": 401, "error": "Unauthorized", "message": "Invalid token"}, 401)
        return refused, headers

    async def _token(self, request: web.Request) -> web.Response:
        refused, headers = self._limited()
        if refused is not None:
            return refused
        try:
            body = await request.json()
        except ValueError:
            body = {}
        if body.get("client_id") != self.client_id or body.get("client_secret") != self.client_secret:
            return json_response({"error": "access_denied", "error_description": "Unauthorized"}, 401, headers)
        token = secrets.token_urlsafe(24)
        self._tokens.add(token)
        reply = {"access_token": token, "token_type": "Bearer", "expires_in": 86400, "scope": "read:logs read:users"}
        return json_response(reply, 200, headers)

    async def _list_logs(self, request: web.Request) -> web.Response:
        refused, headers = self._guard(request)
        if refused is not None:
            return refused
        query = request.query
        with self.lock:
            if query.get("from") is not None or query.get("take") is not None:
                return self._checkpoint(request, headers)
            return self._search(request, headers)

    def _checkpoint(self, request: web.Request, headers: dict[str, str]) -> web.Response:
        take = int(request.query.get("take") or 50)
        if take > TAKE_MAX:
            message = "Query validation error: 'take' must be <= 100"
            return json_response({"statusCode": 400, "error": "Bad Request", "message": message}, 400, headers)
        start = request.query.get("from") or ""
        logs = [log for log in self._retained() if log["log_id"] > start][:take]
        last = logs[-1]["log_id"] if logs else start
        base = f"{request.scheme}://{request.host}/api/v2/logs"
        headers["Link"] = f'<{base}?from={last}&take={take}>; rel="next"'
        return json_response(logs, 200, headers)

    def _search(self, request: web.Request, headers: dict[str, str]) -> web.Response:
        query = request.query
        logs = list(self._retained())
        match = _DATE_Q.search(unquote(query.get("q") or ""))
        if match:
            logs = [log for log in logs if log["date"] >= match.group(1)]
        if query.get("sort") == "date:1":
            logs.sort(key=lambda log: log["date"])
        elif query.get("sort") in (None, "date:-1"):
            logs.sort(key=lambda log: log["date"], reverse=True)
        per_page = min(int(query.get("per_page") or 50), TAKE_MAX)
        page = int(query.get("page") or 0)
        logs = logs[:1000]
        return json_response(logs[page * per_page : (page + 1) * per_page], 200, headers)

    async def _get_log(self, request: web.Request) -> web.Response:
        refused, headers = self._guard(request)
        if refused is not None:
            return refused
        with self.lock:
            found = next((log for log in self._retained() if log["log_id"] == request.match_info["id"]), None)
        if found is None:
            return json_response({"statusCode": 404, "error": "Not Found", "message": "Log not found"}, 404, headers)
        return json_response(found, 200, headers)

    async def _get_user(self, request: web.Request) -> web.Response:
        refused, headers = self._guard(request)
        if refused is not None:
            return refused
        with self.lock:
            user = self._users.get(unquote(request.match_info["id"]))
        if user is None:
            body = {"statusCode": 404, "error": "Not Found", "message": "The user does not exist.",
                    "errorCode": "inexistent_user"}  # fmt: skip
            return json_response(body, 404, headers)
        return json_response(user, 200, headers)
