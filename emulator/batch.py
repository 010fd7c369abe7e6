"""`POST /$batch` (graph docs concepts/json-batching.md, concepts/throttling.md#throttling-and-batching).

At most 20 items; each is faulted, throttled and priced on its own through the same pipeline as a
lone request, so one throttled item gets its own 429 + Retry-After inside a 200 answer. An item
whose `dependsOn` target failed answers 424. A malformed envelope is a 400 `BadRequest` for the
whole batch: ids not unique (compared case-insensitively), an absolute `url`, a `body` without a
`Content-Type` header, more than 20 items.
Whole-batch faults (`batch-500`, `batch-503`, `batch-504`: nothing ran; `batch-504-after-commit`: every
item ran and committed, then the envelope answers 504) model a gateway in front of the batch.
"""

from __future__ import annotations

import json
import random
import uuid
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from emulator.context import Reply, RequestContext, normalize_query
from emulator.core import EmulatedTenant
from emulator.errors import GraphError, bad_request, error_body
from emulator.faults import StatusFault
from emulator.pipeline import process, unavailable_headers

METHODS = frozenset({"GET", "POST", "PATCH", "PUT", "DELETE"})
_ENVELOPE_FAULTS = {
    StatusFault.E500: (500, "generalException", "An internal server error occurred (injected batch fault)."),
    StatusFault.E503: (503, "serviceNotAvailable", "The service is temporarily unavailable (injected batch fault)."),
    StatusFault.E504: (504, "gatewayTimeout", "The gateway timed out (injected batch fault)."),
    StatusFault.E504_AFTER_COMMIT: (504, "gatewayTimeout", "The gateway timed out (injected batch fault)."),
}


def _envelope_fault(tenant: EmulatedTenant, envelope: RequestContext, fault: StatusFault) -> Reply:
    status, code, message = _ENVELOPE_FAULTS[fault]
    name = "batch-504-after-commit" if fault is StatusFault.E504_AFTER_COMMIT else f"batch-{status}"
    tenant.faults.note(name)
    body = error_body(code, message, envelope.request_id, envelope.client_request_id)
    return Reply(status, body, unavailable_headers(tenant, status))


def _invalid(message: str) -> GraphError:
    # Graph's own $batch validation answers code "BadRequest" (not directory's "Request_BadRequest").
    return bad_request(f"Invalid batch payload format: {message}", code="BadRequest")


def _has_content_type(item: dict[str, Any]) -> bool:
    headers = item.get("headers")
    if not isinstance(headers, dict):
        return False
    return any(str(name).lower() == "content-type" and str(value).strip() for name, value in headers.items())


def _check_url(item_id: str, url: str) -> None:
    """concepts/json-batching.md: "The relative resource URL for the individual request"."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or url.startswith("//"):
        raise _invalid(f"request {item_id} has an absolute 'url'; batch urls are relative (e.g. '/users').")


def _parse(body: Any, limit: int) -> list[dict[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("requests"), list):
        raise _invalid("the body must be an object with a 'requests' array.")
    items: list[dict[str, Any]] = body["requests"]
    if not items:
        raise _invalid("'requests' is empty.")
    if len(items) > limit:
        raise bad_request(
            f"The number of requests in a batch is limited to {limit}; got {len(items)}.", code="BadRequest"
        )
    ids: set[str] = set()  # casefolded: "Not case-sensitive. Must be unique in the batch" (json-batching.md)
    for item in items:
        if not isinstance(item, dict):
            raise _invalid("each request must be an object.")
        item_id, method, url = item.get("id"), item.get("method"), item.get("url")
        if not isinstance(item_id, str) or not item_id or item_id.casefold() in ids:
            raise _invalid("each request needs a unique string 'id' (ids are compared case-insensitively).")
        if not isinstance(method, str) or method.upper() not in METHODS:
            raise _invalid(f"request {item_id} has an unsupported method.")
        if not isinstance(url, str) or not url:
            raise _invalid(f"request {item_id} has no 'url'.")
        _check_url(item_id, url)
        if item.get("body") is not None and not _has_content_type(item):
            # json-batching.md: "When a body is included with the request, the headers object must contain
            # a value for Content-Type." Graph refuses the whole batch.
            raise _invalid(f"Write request id : {item_id} does not contain Content-Type header or body.")
        ids.add(item_id.casefold())
    for item in items:
        depends = item.get("dependsOn") or []
        if not isinstance(depends, list) or any(
            not isinstance(d, str) or d.casefold() not in ids or d.casefold() == item["id"].casefold() for d in depends
        ):
            raise _invalid(f"request {item['id']} has an invalid 'dependsOn'.")
    return items


def _order(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Dependencies first; request order otherwise. A cycle is a malformed batch."""
    by_id = {i["id"].casefold(): i for i in items}
    done: set[str] = set()
    visiting: set[str] = set()
    ordered: list[dict[str, Any]] = []

    def visit(item_id: str) -> None:
        item_id = item_id.casefold()
        if item_id in done:
            return
        if item_id in visiting:
            raise _invalid("'dependsOn' forms a cycle.")
        visiting.add(item_id)
        for dep in by_id[item_id].get("dependsOn") or []:
            visit(dep)
        visiting.discard(item_id)
        done.add(item_id)
        ordered.append(by_id[item_id])

    for item in items:
        visit(item["id"])
    return ordered


def _item_context(envelope: RequestContext, item: dict[str, Any]) -> RequestContext:
    parts = urlsplit(item["url"])  # relative only ("/users", "users?…"); _parse refused absolute ones
    path = unquote(parts.path)
    if not path.startswith("/"):
        path = "/" + path
    headers = {str(k).lower(): str(v) for k, v in (item.get("headers") or {}).items()}
    body = item.get("body")
    if isinstance(body, str):  # base64 or raw JSON text
        try:
            body = json.loads(body)
        except ValueError:
            body = None
    return RequestContext(
        method=item["method"].upper(),
        path=path,
        query=normalize_query(parse_qsl(parts.query, keep_blank_values=True)),
        headers=headers,
        body=body,
        app_id=envelope.app_id,
        base_url=envelope.base_url,
        request_id=str(uuid.uuid4()),
        client_request_id=envelope.client_request_id,
        in_batch=True,
    )


def run_batch(tenant: EmulatedTenant, envelope: RequestContext, rng: random.Random | None = None) -> Reply:
    items = _order(_parse(envelope.body, tenant.config.quotas.max_batch_requests))
    fault = tenant.faults.draw_batch()
    if fault in (StatusFault.E500, StatusFault.E503, StatusFault.E504):
        return _envelope_fault(tenant, envelope, fault)
    statuses: dict[str, int] = {}
    responses: list[dict[str, Any]] = []
    for item in items:
        ctx = _item_context(envelope, item)
        failed = [d for d in item.get("dependsOn") or [] if statuses.get(d.casefold(), 0) >= 400]
        if failed:
            message = f"Dependency {failed[0]} failed."
            body = error_body("FailedDependency", message, ctx.request_id, ctx.client_request_id)
            reply = Reply(424, body, {"Content-Type": "application/json"})
        else:
            reply = process(tenant, ctx, tenant.faults.draw())
        statuses[item["id"].casefold()] = reply.status
        response: dict[str, Any] = {"id": item["id"], "status": reply.status, "headers": dict(reply.headers)}
        if reply.body is not None:
            response["body"] = reply.body
            response["headers"].setdefault("Content-Type", "application/json")
        responses.append(response)
    if fault is StatusFault.E504_AFTER_COMMIT:
        return _envelope_fault(tenant, envelope, fault)  # the items' writes stand; the client never hears
    if rng is not None:
        rng.shuffle(responses)  # Graph may answer out of order; clients must correlate by id
    return Reply(200, {"responses": responses}, {"Content-Type": "application/json"})
