"""The aiohttp application: Graph under /v1.0, control endpoints under /_emulator.

Per request: fault draw (drop closes the socket) → bearer token → JSON body →
`$batch` or the pipeline → latency (after the work is done) → Graph headers on every answer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import uuid
from typing import Any

from aiohttp import web

from emulator import control, directory_audits, signin_sim
from emulator.auth import TokenReader
from emulator.batch import run_batch
from emulator.context import Reply, RequestContext, normalize_query
from emulator.core import EmulatedTenant
from emulator.errors import GraphError, bad_request
from emulator.identity_platform import add_token_routes
from emulator.pipeline import error_reply, process

logger = logging.getLogger(__name__)

TENANT_KEY = web.AppKey("tenant", EmulatedTenant)
_BODY_METHODS = frozenset({"POST", "PATCH", "PUT"})
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def render(reply: Reply, request_id: str, client_request_id: str | None) -> web.Response:
    headers = dict(reply.headers)
    headers["request-id"] = request_id
    headers["client-request-id"] = client_request_id or request_id
    content_type = headers.pop("Content-Type", None)
    if reply.body is None:
        return web.Response(status=reply.status, headers=headers)
    if isinstance(reply.body, str):
        return web.Response(status=reply.status, text=reply.body, content_type="text/plain", headers=headers)
    if isinstance(reply.body, bytes):  # a branding image (image/png, image/jpeg)
        return web.Response(status=reply.status, body=reply.body, content_type=content_type or "image/png",
                            headers=headers)  # fmt: skip
    return web.Response(
        status=reply.status,
        body=_dumps(reply.body).encode(),
        content_type=(content_type or "application/json").split(";")[0],
        headers=headers,
    )


class GraphHandler:
    def __init__(self, tenant: EmulatedTenant, default_app_id: str) -> None:
        self.tenant = tenant
        self.tokens = TokenReader(default_app_id, tenant.signer if tenant.config.client_apps else None)
        self.batch_rng = random.Random(tenant.config.seed) if tenant.config.shuffle_batch_responses else None

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        tenant = self.tenant
        draw = tenant.faults.draw()
        if draw.drop:
            tenant.faults.note("drop")
            if request.transport is not None:
                request.transport.abort()  # no status line at all: the client sees a reset
            raise asyncio.CancelledError  # aiohttp treats this as a vanished client
        request_id = str(uuid.uuid4())
        client_request_id = request.headers.get("client-request-id")
        ctx = RequestContext(
            method=request.method,
            path=request.path[len("/v1.0") :],
            query=normalize_query(list(request.query.items())),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=None,
            app_id="",
            base_url=f"{request.scheme}://{request.host}{request.path[:5]}",
            request_id=request_id,
            client_request_id=client_request_id,
        )
        try:
            ctx.app_id = self.tokens.app_id(request.headers.get("Authorization"))
            if request.method in _BODY_METHODS and request.can_read_body:
                is_image = request.content_type.startswith("image/")
                ctx.body = await request.read() if is_image else await _json_body(request)
            if ctx.path == "/$batch":
                if request.method != "POST":
                    raise GraphError(405, "Request_BadRequest", "Only POST is allowed on $batch.")
                reply = run_batch(tenant, ctx, self.batch_rng)
            else:
                reply = process(tenant, ctx, draw)
        except GraphError as error:
            reply = error_reply(ctx, error)
        # Latency after the work, as on a real server: a client that gives up (or dies) while waiting for
        # the answer has still had its write committed — the crash window the import must survive.
        latency = tenant.faults.spec.latency_ms
        if latency > 0:
            await asyncio.sleep(latency / 1000)
        return render(reply, request_id, client_request_id)


async def _json_body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise bad_request("Unable to read JSON request payload. Please ensure Content-Type header is set "
                          "and payload is of valid JSON format.") from exc  # fmt: skip


def build_app(tenant: EmulatedTenant, default_app_id: str) -> web.Application:
    app = web.Application(client_max_size=4 * 1024 * 1024)
    app[TENANT_KEY] = tenant
    graph = GraphHandler(tenant, default_app_id)
    app.router.add_route("*", "/v1.0/{tail:.*}", graph)
    app.router.add_route("*", "/beta/{tail:.*}", graph)  # same length as /v1.0: one handler serves both
    control.add_routes(app, tenant)
    directory_audits.add_control_routes(app, tenant)
    add_token_routes(app, tenant.identity)
    signin_sim.add_routes(app, tenant)
    return app
