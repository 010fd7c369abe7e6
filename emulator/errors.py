"""Graph-shaped errors. Every failure the emulator answers is a `GraphError`.

Body shape (graph docs `concepts/errors.md`): {"error": {"code", "message", "details"?,
"innerError": {"request-id", "date", "client-request-id"}}}. Codes used:
400 Request_BadRequest (+ details ObjectConflict), Request_UnsupportedQuery,
Directory_QuotaExceeded; 401 InvalidAuthenticationToken; 404 Request_ResourceNotFound;
405 Request_BadRequest; 410 syncStateNotFound; 424 FailedDependency; 429 TooManyRequests;
500 generalException; 503 serviceNotAvailable; 504 gatewayTimeout.
"""

from __future__ import annotations

import datetime as dt
from typing import Any


class GraphError(Exception):
    """An HTTP error answer; raised anywhere in a handler, rendered by the app or the batch."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}

    def body(self, request_id: str, client_request_id: str | None) -> dict[str, Any]:
        return error_body(self.code, self.message, request_id, client_request_id, self.details)


def error_body(
    code: str,
    message: str,
    request_id: str,
    client_request_id: str | None,
    details: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    inner: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": request_id,
        "client-request-id": client_request_id or request_id,
    }
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    error["innerError"] = inner
    return {"error": error}


def bad_request(message: str, code: str = "Request_BadRequest") -> GraphError:
    return GraphError(400, code, message)


def invalid_value(prop: str) -> GraphError:
    # Graph's wording for a well-formed request with an unacceptable property value.
    return bad_request(f"Invalid value specified for property '{prop}' of resource 'User'.")


def object_conflict(prop: str) -> GraphError:
    message = f"Another object with the same value for property {prop} already exists."
    return GraphError(
        400,
        "Request_BadRequest",
        message,
        details=[{"code": "ObjectConflict", "target": prop, "message": message}],
    )


def not_found(resource_id: str) -> GraphError:
    return GraphError(
        404,
        "Request_ResourceNotFound",
        f"Resource '{resource_id}' does not exist or one of its queried reference-property objects are not present.",
    )


def unsupported_query(message: str) -> GraphError:
    return bad_request(message, code="Request_UnsupportedQuery")
