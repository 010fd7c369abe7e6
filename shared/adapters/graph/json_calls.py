"""Graph calls answered as plain JSON instead of msgraph-sdk models, for the reads `run` makes before it writes.

Deserialising any directory object (an organization, a service principal, a user) into msgraph's models
imports the SDK's whole model tree the first time: kiota's `Entity.get_field_deserializers` names ~2,400
modules, seconds of CPU on the event loop (measured: most of the ~20 s `run` spent before its first write).
Readiness, identity lookups and extension properties need a few fields each, so they read JSON here.
Errors are the SDK's: a non-2xx answer raises ODataError (an APIError with `response_status_code`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from kiota_abstractions.method import Method
from kiota_abstractions.request_information import RequestInformation
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.graph_service_client import GraphServiceClient

ERROR_MAP: dict[str, Any] = {"XXX": ODataError}


async def send_json(
    client: GraphServiceClient,
    method: Method,
    path: str,
    query: Mapping[str, str] | None = None,
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`method` on `{base}/{path}?{query}` with an optional JSON body; the answer's JSON object ({} when empty)."""
    adapter = client.request_adapter
    info = RequestInformation()
    info.http_method = method
    info.url = f"{adapter.base_url.rstrip('/')}/{path}" + (f"?{urlencode(query, quote_via=quote)}" if query else "")
    info.headers.try_add("Accept", "application/json")
    if body is not None:
        info.headers.try_add("Content-Type", "application/json")
        info.content = json.dumps(body, separators=(",", ":")).encode()
    raw: Any = await adapter.send_primitive_async(info, "bytes", ERROR_MAP)
    parsed: Any = json.loads(raw) if raw else {}
    return parsed if isinstance(parsed, dict) else {}


async def get_json(client: GraphServiceClient, path: str, query: Mapping[str, str] | None = None) -> dict[str, Any]:
    return await send_json(client, Method.GET, path, query)


def values(page: dict[str, Any] | None) -> list[dict[str, Any]]:
    """A collection page's `value` items (objects only)."""
    items = (page or {}).get("value")
    return [v for v in items if isinstance(v, dict)] if isinstance(items, list) else []
