"""The aiohttp host for `ciam-migrate jit serve`, the tests and the benchmark: POST /api/password-submit.

The handler passes headers first and a bounded body reader second, so a rejected token never reads the body.
"""

from __future__ import annotations

from aiohttp import web

from shared.jit.service import ROUTE, BodyTooLarge, JitService

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
