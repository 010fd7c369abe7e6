"""One Graph call as the dispatcher sees it, whether it came over HTTP or inside a `$batch`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode


@dataclass
class RequestContext:
    method: str
    path: str  # below /v1.0, e.g. "/users/123", URL-decoded, no query
    query: dict[str, str]  # keys lower-cased with the leading "$" removed: "filter", "top"
    headers: dict[str, str]  # lower-cased names
    body: Any
    app_id: str
    base_url: str  # e.g. http://127.0.0.1:8765/v1.0, used to build nextLink / deltaLink
    request_id: str
    client_request_id: str | None = None
    in_batch: bool = False

    def link(self, path: str, params: dict[str, str]) -> str:
        # Graph's links are absolute and keep the `$` names; kiota follows them verbatim.
        query = urlencode(params, safe="$'(),:/", quote_via=quote)
        return f"{self.base_url}{path}?{query}" if query else f"{self.base_url}{path}"


@dataclass
class Reply:
    status: int
    body: Any = None  # dict → JSON, str → text/plain, None → empty
    headers: dict[str, str] = field(default_factory=dict)


def normalize_query(pairs: list[tuple[str, str]]) -> dict[str, str]:
    return {key.lower().lstrip("$"): value for key, value in pairs}
