"""One Graph call end to end: injected status fault → quota → handler → 504-after-commit.

Used for top-level requests and for every `$batch` item alike, so an item is faulted,
throttled and priced exactly like the same request sent alone.
"""

from __future__ import annotations

import logging

from emulator.context import Reply, RequestContext
from emulator.core import EmulatedTenant
from emulator.directory_info import authorize
from emulator.errors import GraphError, error_body
from emulator.faults import UNAVAILABLE_RETRY_AFTER_S, FaultDraw, StatusFault
from emulator.router import WRITE_METHODS, price, route, segments
from emulator.throttling import format_retry_after

logger = logging.getLogger(__name__)

_STATUS_FAULTS = {
    StatusFault.E500: (500, "generalException", "An internal server error occurred (injected fault)."),
    StatusFault.E503: (503, "serviceNotAvailable", "The service is temporarily unavailable (injected fault)."),
    StatusFault.E504: (504, "gatewayTimeout", "The gateway timed out (injected fault)."),
}
_AFTER_COMMIT = (504, "gatewayTimeout", "The gateway timed out (injected fault).")


def error_reply(ctx: RequestContext, error: GraphError) -> Reply:
    headers = {"Content-Type": "application/json", **error.headers}
    return Reply(error.status, error.body(ctx.request_id, ctx.client_request_id), headers)


def unavailable_headers(tenant: EmulatedTenant, status: int) -> dict[str, str]:
    """A 503 always carries Retry-After (graph concepts/errors.md: "You may repeat the request after a
    delay, the length of which may be specified in a Retry-After header"; docs/emulator.md)."""
    headers = {"Content-Type": "application/json"}
    if status == 503:
        seconds = tenant.config.scaled(UNAVAILABLE_RETRY_AFTER_S)
        headers["Retry-After"] = format_retry_after(seconds, tenant.fractional_retry_after)
    return headers


def _fault_reply(tenant: EmulatedTenant, ctx: RequestContext, status: int, code: str, message: str) -> Reply:
    body = error_body(code, message, ctx.request_id, ctx.client_request_id)
    return Reply(status, body, unavailable_headers(tenant, status))


def process(tenant: EmulatedTenant, ctx: RequestContext, draw: FaultDraw) -> Reply:
    parts = segments(ctx.path)
    if draw.status in _STATUS_FAULTS:
        tenant.faults.note(str(draw.status.value))
        return _fault_reply(tenant, ctx, *_STATUS_FAULTS[draw.status])
    try:
        authorize(tenant, ctx, parts)  # 403 when the calling app lacks the permission (client apps only)
    except GraphError as error:
        return error_reply(ctx, error)
    cost = price(ctx, parts)
    rejection = tenant.throttle.admit(
        ctx.app_id, write=cost.write, resource_units=cost.resource_units, reporting=cost.reporting
    )
    if rejection is not None:
        scope = f"{rejection.scope}/{ctx.app_id}/{tenant.config.tenant_id}"
        headers = {
            "Retry-After": format_retry_after(rejection.retry_after, tenant.fractional_retry_after),
            "x-ms-throttle-scope": scope,
            "x-ms-throttle-information": rejection.reason,
            "Content-Type": "application/json",
        }
        body = error_body("TooManyRequests", "Please retry again later.", ctx.request_id, ctx.client_request_id)
        return Reply(429, body, headers)
    try:
        reply = route(tenant, ctx, parts, lag=draw.lag)
    except GraphError as error:
        return error_reply(ctx, error)
    if not cost.reporting:
        reply.headers["x-ms-resource-unit"] = str(cost.resource_units)
    if draw.status is StatusFault.E504_AFTER_COMMIT and ctx.method in WRITE_METHODS and reply.status < 400:
        tenant.faults.note("504-after-commit")
        return _fault_reply(tenant, ctx, *_AFTER_COMMIT)
    return reply
