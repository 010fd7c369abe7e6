"""Control endpoints (not Graph; no token needed), for tests, rehearsals and benchmarks:

GET  /_emulator/health        {"status": "ok"}
GET  /_emulator/stats         enforced quotas (after time-scale), per-app requests/writes/429s,
                              total requests, object count, injected faults
POST /_emulator/reset         empty tenant (b2c-extensions-app kept), quotas and counters cleared
GET  /_emulator/faults        current fault spec and seed
POST /_emulator/faults        {"503": 0.2, "lag": 1, "seed": 7}: replaces the spec (omitted = 0)
POST /_emulator/signIns       one sign-in record or a list → {"added": n}
POST /_emulator/delta/expire  every outstanding delta token answers 410 from now on
POST /_emulator/save          write the state file now (409 when none is configured)
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from emulator.config import FaultSpec
from emulator.core import EmulatedTenant
from emulator.errors import GraphError
from emulator.signins import add_sign_ins


def stats(tenant: EmulatedTenant) -> dict[str, Any]:
    config = tenant.config
    quotas = config.quotas
    throttle = tenant.throttle
    return {
        "tenant": config.tenant,
        "tenantId": config.tenant_id,
        "timeScale": config.time_scale,
        "objectCount": tenant.state.object_count,
        "objectQuota": quotas.object_quota,
        "users": len(tenant.state.users),
        "authMethods": {
            "methods": sum(len(m) for m in tenant.state.auth_methods.values()),
            "posts": tenant.state.auth_method_posts,
            "postsInBatch": tenant.state.auth_method_posts_in_batch,
        },
        "groups": len(tenant.state.groups),
        "memberships": sum(len(m) for m in tenant.state.group_members.values()),
        "appRoleAssignments": sum(len(a) for a in tenant.state.app_role_assignments.values()),
        "totalRequests": throttle.total_requests,
        "tokensIssued": dict(tenant.identity.issued),
        "quotas": {
            "appWrites": {"limit": quotas.app_writes, "windowSeconds": config.scaled(quotas.app_write_window_s)},
            "tenantWrites": {
                "limit": quotas.tenant_writes,
                "windowSeconds": config.scaled(quotas.tenant_write_window_s),
            },
            "resourceUnits": {
                "limit": tenant.resource_unit_quota(),
                "windowSeconds": config.scaled(quotas.resource_unit_window_s),
            },
            "reporting": {
                "limit": quotas.reporting_requests,
                "windowSeconds": config.scaled(quotas.reporting_window_s),
            },
        },
        "apps": {
            app_id: {
                "requests": c.requests,
                "writes": c.writes,
                "resourceUnits": c.resource_units,
                "throttled": c.throttled,
                "throttledBy": dict(c.throttled_by),
            }
            for app_id, c in throttle.counters.items()
        },
        "faults": {
            "spec": tenant.faults.spec.to_spec(),
            "seed": tenant.faults.seed,
            "injected": dict(tenant.faults.injected),
        },
    }


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)


async def _body(request: web.Request) -> Any:
    try:
        return await request.json()
    except (ValueError, json.JSONDecodeError) as exc:
        raise web.HTTPBadRequest(text=f"body is not JSON: {exc}") from exc


def add_routes(app: web.Application, tenant: EmulatedTenant) -> None:
    async def health(_: web.Request) -> web.Response:
        return _json({"status": "ok"})

    async def get_stats(_: web.Request) -> web.Response:
        return _json(stats(tenant))

    async def reset(_: web.Request) -> web.Response:
        tenant.reset()
        return _json({"status": "reset"})

    async def get_faults(_: web.Request) -> web.Response:
        return _json({"spec": tenant.faults.spec.to_spec(), "seed": tenant.faults.seed})

    async def set_faults(request: web.Request) -> web.Response:
        payload = await _body(request)
        if not isinstance(payload, dict):
            return _json({"error": 'expected an object such as {"503": 0.2}'}, 400)
        seed = payload.pop("seed", None)
        try:
            spec = FaultSpec.model_validate(payload)
        except ValidationError as exc:
            return _json({"error": str(exc)}, 400)
        tenant.faults.configure(spec, int(seed) if seed is not None else None)
        return _json({"spec": spec.to_spec(), "seed": tenant.faults.seed})

    async def sign_ins(request: web.Request) -> web.Response:
        try:
            added = add_sign_ins(tenant, await _body(request))
        except GraphError as error:
            return _json({"error": error.message}, 400)
        return _json({"added": added}, 201)

    async def expire_delta(_: web.Request) -> web.Response:
        tenant.state.expire_delta_tokens()
        return _json({"status": "expired"})

    async def save(_: web.Request) -> web.Response:
        path = tenant.config.state_file
        if path is None:
            return _json({"error": "no --state file configured"}, 409)
        tenant.state.save(path)
        return _json({"saved": str(path)})

    app.router.add_get("/_emulator/health", health)
    app.router.add_get("/_emulator/stats", get_stats)
    app.router.add_post("/_emulator/reset", reset)
    app.router.add_get("/_emulator/faults", get_faults)
    app.router.add_post("/_emulator/faults", set_faults)
    app.router.add_post("/_emulator/signIns", sign_ins)
    app.router.add_post("/_emulator/delta/expire", expire_delta)
    app.router.add_post("/_emulator/save", save)
