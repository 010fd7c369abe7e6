"""Entra's side of a password sign-in, simulated: `POST /_emulator/signIn {username, password, appId}`.

Order, as Entra does it: unknown user → 50034; disabled → 50057; smart-locked → 50053; password right → 0.
Password wrong and the user's migration flag (the listener's `migrationPropertyId`) true → the configured custom
authentication extension is called (callout.py) and its answer applied: MigratePassword stores the typed
password and sets the flag false (a directory change, visible in users/delta), so the next sign-in with that
password succeeds without a call; UpdatePassword marks the user for reset (logged as `update_password_error_code`);
Retry and Block fail the sign-in (50126, `block_error_code`); a failed call logs its 1003xxx code. Otherwise 50126.
Wrong passwords count towards smart lockout. Every sign-in writes one log record (Graph signIn shape, with beta
`appliedEventListeners` when the extension ran) that becomes visible after a drawn arrival delay.
"""

from __future__ import annotations

import datetime as dt
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from emulator.callout import CalloutResult, CalloutUser, ExtensionCaller
from emulator.callout_keys import CalloutKeys
from emulator.core import EmulatedTenant
from emulator.signin_sim_config import (
    DISABLED,
    FAILURE_REASONS,
    INVALID_PASSWORD,
    LOCKED,
    SUCCESS,
    USER_NOT_FOUND,
)
from emulator.state import UserRecord, identity_key, utc_now_iso


@dataclass(frozen=True)
class SignInOutcome:
    sign_in_id: str
    correlation_id: str
    error_code: int
    user_id: str | None
    callout: CalloutResult | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.sign_in_id,
            "correlationId": self.correlation_id,
            "errorCode": self.error_code,
            "userId": self.user_id,
        }
        if self.callout is not None:
            out["callout"] = {
                "action": self.callout.action,
                "errorCode": self.callout.error_code,
                "httpStatus": self.callout.http_status,
                "attempts": self.callout.attempts,
                "latencyMs": round(self.callout.latency_ms, 1),
            }
        return out


@dataclass
class Lockout:
    failures: int = 0
    locked_until: float = 0.0


@dataclass
class SimStats:
    sign_ins: int = 0
    callouts: int = 0
    by_code: dict[int, int] = field(default_factory=dict)


class SignInSimulator:
    def __init__(self, tenant: EmulatedTenant) -> None:
        self.tenant = tenant
        self.keys = CalloutKeys(tenant.config.tenant_id)
        self.caller = ExtensionCaller(tenant, self.keys)
        self.stats = SimStats()
        self._lockouts: dict[str, Lockout] = {}
        self._rng = random.Random(tenant.config.seed)

    async def close(self) -> None:
        await self.caller.close()

    def find_user(self, username: str) -> UserRecord | None:
        state = self.tenant.state
        user_id = state.by_identity.get(identity_key(self.tenant.config.tenant, username))
        if user_id is None:
            ids = state.by_mail.get(username.casefold())
            user_id = next(iter(ids)) if ids else None
        return state.users.get(user_id) if user_id else state.lookup(username)

    async def sign_in(
        self, username: str, password: str, *, app_id: str | None, ip_address: str, base_url: str
    ) -> SignInOutcome:
        correlation_id = str(uuid.uuid4())
        record = self.find_user(username)
        callout: CalloutResult | None = None
        listener: dict[str, Any] | None = None
        if record is None:
            code = USER_NOT_FOUND
        elif record.data.get("accountEnabled") is False:
            code = DISABLED
        elif self._locked(record.id):
            code = LOCKED
        elif self.tenant.passwords.matches(record.id, password):
            code = SUCCESS
        else:
            listener = self.tenant.callouts.listener_for(app_id)
            flag = str(listener["handler"]["migrationPropertyId"]) if listener else None
            if listener is not None and flag is not None and record.data.get(flag) is True:
                user = CalloutUser(
                    record.id,
                    record.data.get("mail"),
                    record.data.get("displayName"),
                    str(record.data.get("userPrincipalName")),
                )
                callout = await self.caller.call(
                    listener,
                    user,
                    username,
                    password,
                    app_id=app_id,
                    correlation_id=correlation_id,
                    ip_address=ip_address,
                    authority=self.keys.authority(base_url),
                )
                self.stats.callouts += 1
                code = self._apply(record, flag, password, callout)
            else:
                listener = None
                code = INVALID_PASSWORD
        if record is not None:
            self._count_for_lockout(record.id, code)
        outcome = SignInOutcome(str(uuid.uuid4()), correlation_id, code, record.id if record else None, callout)
        self._log(outcome, username, app_id, ip_address, record)
        self.stats.sign_ins += 1
        self.stats.by_code[code] = self.stats.by_code.get(code, 0) + 1
        return outcome

    def _apply(self, record: UserRecord, flag: str, password: str, callout: CalloutResult) -> int:
        sim = self.tenant.config.sign_ins
        if callout.action == "MigratePassword":
            data = {**record.data, flag: False, "lastPasswordChangeDateTime": utc_now_iso()}
            self.tenant.state.replace_user_data(record, data)
            self.tenant.passwords.remember(record.id, password)
            return SUCCESS
        if callout.action == "UpdatePassword":
            profile = {**(record.data.get("passwordProfile") or {}), "forceChangePasswordNextSignIn": True}
            self.tenant.state.replace_user_data(record, {**record.data, "passwordProfile": profile})
            return sim.update_password_error_code
        if callout.action == "Block":
            return sim.block_error_code
        if callout.action == "Retry":
            return INVALID_PASSWORD
        return callout.error_code

    def _locked(self, user_id: str) -> bool:
        state = self._lockouts.get(user_id)
        return state is not None and state.locked_until > time.monotonic()

    def _count_for_lockout(self, user_id: str, code: int) -> None:
        sim = self.tenant.config.sign_ins
        if code == SUCCESS:
            self._lockouts.pop(user_id, None)
            return
        if code != INVALID_PASSWORD:
            return
        state = self._lockouts.setdefault(user_id, Lockout())
        state.failures += 1
        if state.failures >= sim.lockout_threshold:
            state.locked_until = time.monotonic() + self.tenant.config.scaled(sim.lockout_duration_s)
            state.failures = 0

    def arrival_delay_s(self) -> float:
        sim = self.tenant.config.sign_ins
        rng = self._rng
        if rng.random() < sim.late_fraction:
            seconds = rng.uniform(sim.arrival_delay_max_s, max(sim.late_delay_max_s, sim.arrival_delay_max_s))
        else:
            seconds = rng.uniform(sim.arrival_delay_min_s, max(sim.arrival_delay_max_s, sim.arrival_delay_min_s))
        return self.tenant.config.scaled(seconds)

    def _log(
        self, outcome: SignInOutcome, username: str, app_id: str | None, ip: str, record: UserRecord | None
    ) -> None:
        data = record.data if record is not None else {}
        entry: dict[str, Any] = {
            "id": outcome.sign_in_id,
            "createdDateTime": _now_ms(),
            "userDisplayName": data.get("displayName"),
            "userPrincipalName": data.get("userPrincipalName", username),
            "userId": outcome.user_id or "00000000-0000-0000-0000-000000000000",
            "appId": app_id,
            "appDisplayName": "Customer application" if app_id else None,
            "correlationId": outcome.correlation_id,
            "ipAddress": ip,
            "clientAppUsed": "Browser",
            "isInteractive": True,
            "riskLevelDuringSignIn": "hidden",
            "status": {
                "errorCode": outcome.error_code,
                "failureReason": FAILURE_REASONS.get(outcome.error_code),
                "additionalDetails": None,
            },
            "appliedEventListeners": [],
        }
        if outcome.callout is not None:
            entry["appliedEventListeners"] = [
                {
                    "eventType": "passwordSubmit",
                    "executedListenerId": outcome.callout.listener_id,
                    "handlerResult": outcome.callout.handler_result(),
                }
            ]
        self.tenant.arrivals.add(entry, self.arrival_delay_s())


def _now_ms() -> str:
    # Millisecond precision, as Entra's log has: at --time-scale a second is minutes of simulated time.
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


SIM_KEY = web.AppKey("sign_in_simulator", SignInSimulator)


def add_routes(app: web.Application, tenant: EmulatedTenant) -> SignInSimulator:
    """OIDC metadata + `POST /_emulator/signIn`, `POST /_emulator/signIns/flush`, `GET /_emulator/signInStats`."""
    simulator = SignInSimulator(tenant)
    app[SIM_KEY] = simulator
    simulator.keys.add_routes(app)

    async def sign_in(request: web.Request) -> web.Response:
        try:
            payload = await request.json()
        except ValueError:
            return web.json_response({"error": "body is not JSON"}, status=400)
        if (
            not isinstance(payload, dict)
            or not isinstance(payload.get("username"), str)
            or not isinstance(payload.get("password"), str)
        ):
            return web.json_response(
                {"error": 'expected {"username": "...", "password": "...", "appId": "..."}'}, status=400
            )
        app_id = payload.get("appId")
        outcome = await simulator.sign_in(
            payload["username"],
            payload["password"],
            app_id=str(app_id) if app_id else None,
            ip_address=str(payload.get("ipAddress") or "127.0.0.1"),
            base_url=f"{request.scheme}://{request.host}",
        )
        return web.json_response(outcome.to_json())

    async def flush(_: web.Request) -> web.Response:
        return web.json_response({"released": tenant.arrivals.release_due(tenant.state, everything=True)})

    async def stats(_: web.Request) -> web.Response:
        s = simulator.stats
        return web.json_response(
            {
                "signIns": s.sign_ins,
                "callouts": s.callouts,
                "calloutRequests": simulator.caller.calls,
                "pendingLogRecords": len(tenant.arrivals),
                "byCode": {str(k): v for k, v in sorted(s.by_code.items())},
                "authority": simulator.keys.authority(f"http://{_.host}"),
            }
        )

    async def on_cleanup(_: web.Application) -> None:
        await simulator.close()

    app.router.add_post("/_emulator/signIn", sign_in)
    app.router.add_post("/_emulator/signIns/flush", flush)
    app.router.add_get("/_emulator/signInStats", stats)
    app.on_cleanup.append(on_cleanup)
    return simulator
