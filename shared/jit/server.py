"""The aiohttp host for `ciam-migrate jit serve`, the tests and the benchmark: POST /api/password-submit.

The handler passes headers first and a bounded body reader second, so a rejected token never reads the body.
Serve it with `JitRunner`: a request aiohttp itself refuses (a header over 8 KB such as an oversized bearer
token, a malformed request line) gets the same constant body as every other failure, and the log gets one
line with the error's type — aiohttp's own 400 would echo the offending bytes and log a traceback with them.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from shared.jit.protocol import GENERIC_FAILURE_BODY
from shared.jit.service import ROUTE, BodyTooLarge, JitService

logger = logging.getLogger(__name__)

SERVICE_KEY: web.AppKey[JitService] = web.AppKey("jit_service", JitService)


def build_app(service: JitService, *, max_body_bytes: int) -> web.Application:
    # aiohttp's own cap is a backstop above ours, so the service's 413 decides first.
    app = web.Application(client_max_size=max_body_bytes * 2)
    app[SERVICE_KEY] = service
    app.router.add_post(ROUTE, _password_submit)
    return app


async def _password_submit(request: web.Request) -> web.Response:
    async def read_body(limit: int) -> bytes:
        body = bytearray()
        async for chunk in request.content.iter_chunked(16 * 1024):
            body += chunk
            if len(body) > limit:
                raise BodyTooLarge()
        return bytes(body)

    answer = await request.app[SERVICE_KEY].handle(
        request.headers.get("Authorization"), request.content_length, read_body
    )
    response = web.Response(status=answer.status, body=answer.body, headers=answer.headers)
    if answer.status == 401 or answer.status == 413:
        response.force_close()  # the unread body must not be parsed as the next request
    return response


class _ConstantErrors(RequestHandler):
    """aiohttp's request handler with errors that quote nothing from the request."""

    def handle_error(
        self, request: BaseRequest, status: int = 500, exc: BaseException | None = None, message: str | None = None
    ) -> web.StreamResponse:
        logger.warning("refused a request aiohttp could not handle: %s (HTTP %d)", type(exc).__name__, status)
        response = web.Response(status=status, body=GENERIC_FAILURE_BODY, content_type="application/json")
        response.force_close()
        return response

    def log_exception(self, *args: Any, **kwargs: Any) -> None:
        return None  # handle_error logged the type; the exception's text may quote request bytes


class _Server(web.Server):
    def __call__(self) -> RequestHandler:
        return _ConstantErrors(self, loop=self._loop, **self._kwargs)


class JitRunner(web.AppRunner):
    """`web.AppRunner` for the JIT app whose connections use `_ConstantErrors`."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = _Server  # same fields, one method more: only how handlers are made changes
        return server
