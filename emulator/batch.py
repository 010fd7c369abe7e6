"""`POST /$batch` (graph docs concepts/json-batching.md, concepts/throttling.md#throttling-and-batching).

At most 20 items; each is faulted, throttled and priced on its own through the same pipeline as a
lone request, so one throttled item gets its own 429 + Retry-After inside a 200 answer. An item
whose `dependsOn` target failed answers 424. A malformed envelope is a 400 for the whole batch.
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
from emulator.pipeline import process

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
    return Reply(status, body, {"Content-Type": "application/json"})


def _invalid(message: str) -> GraphError:
    return bad_request(f"Invalid batch payload format: {message}")


def _parse(body: Any, limit: int) -> list[dict[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("requests"), list):
        raise _invalid("the body must be an object with a 'requests' array.")
    items: list[dict[str, Any]] = body["requests"]
    if not items:
        raise _invalid("'requests' is empty.")
    if len(items) > limit:
        raise bad_request(f"The number of requests in a batch is limited to {limit}; got {len(items)}.")
    ids: set[str] = set()
    for item in items:
        if not isinstance(item, dict):
            raise _invalid("each request must be an object.")
        item_id, method, url = item.get("id"), item.get("method"), item.get("url")
        if not isinstance(item_id, str) or not item_id or item_id in ids:
            raise _invalid("each request needs a unique string 'id'.")
        if not isinstance(method, str) or method.upper() not in METHODS:
            raise _invalid(f"request {item_id} has an unsupported method.")
        if not isinstance(url, str) or not url:
            raise _invalid(f"request {item_id} has no 'url'.")
        ids.add(item_id)
    for item in items:
        depends = item.get("dependsOn") or []
        if not isinstance(depends, list) or any(d not in ids or d == item["id"] for d in depends):
            raise _invalid(f"request {item['id']} has an invalid 'dependsOn'.")
    return items


def _order(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Dependencies first; request order otherwise. A cycle is a malformed batch."""
    by_id = {i["id"]: i for i in items}
    done: set[str] = set()
    visiting: set[str] = set()
    ordered: list[dict[str, Any]] = []

    def visit(item_id: str) -> None:
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
    parts = urlsplit(item["url"])
    path = unquote(parts.path)
    # Relative urls ("/users", "users?…") and absolute ones ("https://…/v1.0/users") alike.
    marker = path.find("/v1.0/")
    if marker >= 0:
        path = path[marker + len("/v1.0") :]
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
        failed = [d for d in item.get("dependsOn") or [] if statuses.get(d, 0) >= 400]
        if failed:
            message = f"Dependency {failed[0]} failed."
            body = error_body("FailedDependency", message, ctx.request_id, ctx.client_request_id)
            reply = Reply(424, body, {"Content-Type": "application/json"})
        else:
            reply = process(tenant, ctx, tenant.faults.draw())
        statuses[item["id"]] = reply.status
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
