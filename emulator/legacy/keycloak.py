"""Keycloak realm emulator: admin events, user events, events config, users, and the realm token endpoint.

Shapes from Keycloak's Admin REST API and server source (docs/emulator.md): `GET /admin/realms/{realm}/admin-events`
and `/events` with dateFrom/dateTo (yyyy-MM-dd or epoch ms), operationTypes/resourceTypes/type (repeatable),
first, max (default 100), direction (asc|desc, default newest first); AdminEventRepresentation {id, time, realmId,
authDetails, operationType, resourceType, resourcePath, representation?}; EventRepresentation {id, time, type,
realmId, clientId, userId, ipAddress, details}; `GET|PUT …/events/config` — both kinds OFF until enabled, as in a
new realm; eventsExpiration (seconds) drops older events; `GET …/users/{id}` (no credentials); client credentials at
`/realms/{realm}/protocol/openid-connect/token`. Keycloak has no API rate limit of its own; `bucket` stands in
for a reverse proxy (429 + Retry-After). Quirk: times are coarse (`tick_ms`) so bursts share a timestamp, and
ties sort in no particular order.
"""

from __future__ import annotations

import json
import math
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from emulator.legacy.base import SAMPLES, Change, LegacyEmulator, json_response

_USER_FIELDS = ("id", "username", "firstName", "lastName", "email", "emailVerified", "enabled", "createdTimestamp",
                "attributes", "federatedIdentities", "totp", "requiredActions", "notBefore")  # fmt: skip


def _millis(value: str, end: bool) -> int:
    if "-" in value:
        day = datetime.fromisoformat(value).replace(tzinfo=UTC)
        return int(day.timestamp() * 1000) + (86_400_000 - 1 if end else 0)
    return int(value)


class KeycloakEmulator(LegacyEmulator):
    vendor = "keycloak"

    def __init__(
        self,
        *,
        realm: str = "acme",
        client_id: str = "ciam-sync",
        client_secret: str = "kc-secret",  # noqa: S107 - a test double's fixed secret
        events_enabled: bool = False,
        events_expiration_s: int | None = None,
        tick_ms: int = 50,
        credential_events: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__(seed=seed)
        self.realm, self.client_id, self.client_secret = realm, client_id, client_secret
        self.config: dict[str, Any] = {
            "eventsEnabled": events_enabled, "adminEventsEnabled": events_enabled,
            "adminEventsDetailsEnabled": events_enabled, "eventsListeners": ["jboss-logging"],
            "enabledEventTypes": [], "eventsExpiration": events_expiration_s,
        }  # fmt: skip
        self.tick_ms = tick_ms
        self.credential_events = credential_events  # newer releases: UPDATE_CREDENTIAL instead of UPDATE_PASSWORD
        self._users: dict[str, dict[str, Any]] = {}
        self.admin_events: list[dict[str, Any]] = []
        self.user_events: list[dict[str, Any]] = []
        self._order: dict[str, float] = {}  # tie-break key per event id: equal times sort in no set order
        self._tokens: set[str] = set()

    def seed_users(self, natives: list[dict[str, Any]]) -> int:
        for native in natives:
            self._users[str(native["id"])] = {k: v for k, v in native.items() if k in _USER_FIELDS}
        return len(natives)

    def seed_sample(self) -> int:
        realm = json.loads((SAMPLES / "keycloak" / "acme-realm.json").read_text(encoding="utf-8"))
        return self.seed_users([u for u in realm["users"] if not u.get("serviceAccountClientId")])

    def users(self) -> list[dict[str, Any]]:
        return list(self._users.values())

    def export_text(self) -> str:
        return json.dumps({"realm": self.realm, "enabled": True, "users": list(self._users.values())})

    def _time(self) -> int:
        now = int(self.clock.now() * 1000)
        return now - now % self.tick_ms if self.tick_ms > 1 else now

    def _admin_event(self, operation: str, path: str, representation: dict[str, Any] | None) -> None:
        if not self.config["adminEventsEnabled"]:
            return
        event: dict[str, Any] = {
            "id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)), "time": self._time(),
            "realmId": self.realm, "authDetails": {"realmId": self.realm, "clientId": self.client_id,
                                                   "userId": "service-account", "ipAddress": "127.0.0.1"},
            "operationType": operation, "resourceType": "USER", "resourcePath": path,
        }  # fmt: skip
        if representation is not None and self.config["adminEventsDetailsEnabled"]:
            event["representation"] = json.dumps(representation)
        self._order[str(event["id"])] = self.rng.random()
        self.admin_events.append(event)

    def _user_event(self, kind: str, user_id: str, details: dict[str, str] | None = None) -> None:
        types = self.config.get("enabledEventTypes") or []
        if not self.config["eventsEnabled"] or (types and kind not in types):
            return
        event = {"id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)), "time": self._time(), "type": kind,
                 "realmId": self.realm, "clientId": "account-console", "userId": user_id, "ipAddress": "127.0.0.1",
                 "details": details or {}}  # fmt: skip
        self._order[str(event["id"])] = self.rng.random()
        self.user_events.append(event)

    def apply(self, change: Change) -> str:
        admin = change.via != "user"
        if change.op == "create":
            user_id = change.id or str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
            created: dict[str, Any] = {
                "id": user_id,
                "enabled": True,
                "emailVerified": False,
                "createdTimestamp": self._time(),
                "attributes": {},
                "totp": False,
                "requiredActions": [],
                "notBefore": 0,
                **change.fields,
            }
            self._users[user_id] = created
            if admin:
                self._admin_event("CREATE", f"users/{user_id}", change.fields)
            else:
                self._user_event("REGISTER", user_id, {"username": str(created.get("username") or "")})
            return user_id
        user_id = str(change.id)
        user = self._users.get(user_id)
        if user is None:
            raise KeyError(f"no user {user_id}")
        if change.op == "delete":
            del self._users[user_id]
            if admin:
                self._admin_event("DELETE", f"users/{user_id}", None)
            else:
                self._user_event("DELETE_ACCOUNT", user_id)
        elif change.op == "password":
            if admin:
                self._admin_event("ACTION", f"users/{user_id}/reset-password", None)
            elif self.credential_events:
                self._user_event("UPDATE_CREDENTIAL", user_id, {"credential_type": "password"})
            else:
                self._user_event("UPDATE_PASSWORD", user_id)
        else:
            fields = {"enabled": change.op == "enable"} if change.op in ("disable", "enable") else dict(change.fields)
            user.update(fields)
            if admin:
                self._admin_event("UPDATE", f"users/{user_id}", {k: v for k, v in user.items() if k != "id"})
            else:
                self._user_event("UPDATE_EMAIL" if change.op == "email" else "UPDATE_PROFILE", user_id)
        return user_id

    # --- HTTP ------------------------------------------------------------------------------------------------
    def add_routes(self, app: web.Application) -> None:
        base = f"/admin/realms/{self.realm}"
        app.router.add_post(f"/realms/{self.realm}/protocol/openid-connect/token", self._token)
        app.router.add_get(f"{base}/events/config", self._get_config)
        app.router.add_put(f"{base}/events/config", self._put_config)
        app.router.add_get(f"{base}/admin-events", self._list_admin)
        app.router.add_get(f"{base}/events", self._list_user)
        app.router.add_get(f"{base}/users/{{id}}", self._get_user)

    def _gate(self, request: web.Request, *, token: bool = True) -> web.Response | None:
        admitted, raw = self.bucket.take(self.stats)
        if not admitted:
            wait = max(float(raw["reset"]) - self.clock.now(), 0.0)
            return json_response({"error": "too many requests"}, 429, {"Retry-After": str(math.ceil(wait))})
        header = request.headers.get("Authorization", "")
        if token and not (header.startswith("Bearer ") and header[7:] in self._tokens):
            return json_response({"error": "HTTP 401 Unauthorized"}, 401)
        return None

    async def _token(self, request: web.Request) -> web.Response:
        refused = self._gate(request, token=False)
        if refused is not None:
            return refused
        form = await request.post()
        if (form.get("grant_type") != "client_credentials" or form.get("client_id") != self.client_id
                or form.get("client_secret") != self.client_secret):  # fmt: skip
            refusal = {"error": "unauthorized_client", "error_description": "Invalid client credentials"}
            return json_response(refusal, 401)
        token = secrets.token_urlsafe(24)
        self._tokens.add(token)
        return json_response({"access_token": token, "expires_in": 300, "token_type": "Bearer", "scope": "profile"})

    async def _get_config(self, request: web.Request) -> web.Response:
        return self._gate(request) or json_response(self.config)

    async def _put_config(self, request: web.Request) -> web.Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        body = await request.json()
        self.config.update({k: v for k, v in body.items() if k in self.config})
        return web.Response(status=204)

    def _expire(self) -> None:
        expiration = self.config.get("eventsExpiration")
        if expiration:
            edge = int((self.clock.now() - expiration) * 1000)
            self.admin_events = [e for e in self.admin_events if e["time"] >= edge]
            self.user_events = [e for e in self.user_events if e["time"] >= edge]

    def _query(self, request: web.Request, events: list[dict[str, Any]], filters: dict[str, str]) -> web.Response:
        query = request.query
        try:
            low = _millis(query["dateFrom"], end=False) if "dateFrom" in query else None
            high = _millis(query["dateTo"], end=True) if "dateTo" in query else None
        except ValueError:
            return json_response({"error": "Invalid value for 'dateFrom', expected format is yyyy-MM-dd or an Epoch "
                                           "timestamp"}, 400)  # fmt: skip
        direction = query.get("direction", "desc")
        if direction not in ("asc", "desc"):
            return json_response({"error": "Invalid value for sortDirection, expected value is asc or desc"}, 400)
        found = [e for e in events if (low is None or e["time"] >= low) and (high is None or e["time"] <= high)]
        for param, key in filters.items():
            wanted = query.getall(param, [])
            if wanted:
                found = [e for e in found if e.get(key) in wanted]
        found.sort(key=lambda e: (e["time"], self._order.get(e["id"], 0.0)), reverse=direction == "desc")
        first, size = int(query.get("first") or 0), int(query.get("max") or 100)
        return json_response(found[first : first + size])

    async def _list_admin(self, request: web.Request) -> web.Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        with self.lock:
            self._expire()
            return self._query(request, self.admin_events, {"operationTypes": "operationType",
                                                            "resourceTypes": "resourceType"})  # fmt: skip

    async def _list_user(self, request: web.Request) -> web.Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        with self.lock:
            self._expire()
            return self._query(request, self.user_events, {"type": "type", "user": "userId"})

    async def _get_user(self, request: web.Request) -> web.Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        with self.lock:
            user = self._users.get(request.match_info["id"])
        if user is None:
            return json_response({"error": "User not found"}, 404)
        return json_response(user)
