"""The tenant's users as pages of Graph JSON: GET /users with $select and $top=999, through msgraph-sdk.

One page in memory at a time. A 429 or 5xx on a page waits Retry-After (or backs off) and reads the same
page again, up to ATTEMPTS; a 401/403 or anything else stops with TenantUnreadable naming the cause.
Reads count against the app's resource units (graph docs concepts/throttling-limits.md), never writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from kiota_abstractions.api_error import APIError

from shared.adapters.graph.directory import TRANSIENT_STATUSES, _retry_after
from shared.adapters.graph.legacy_users import as_graph_json, first_users_page

ATTEMPTS = 8
BASE_SELECT = ["id", "accountEnabled", "displayName", "mail", "givenName", "surname", "mobilePhone", "identities"]


class TenantUnreadable(RuntimeError):
    """The tenant's users could not be listed; str() says why and what to do."""


async def _with_retries(read: Callable[[], Awaitable[Any]], sleep: Callable[[float], Awaitable[None]]) -> Any:
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return await read()
        except APIError as exc:
            status = exc.response_status_code or 0
            if (status != 429 and status not in TRANSIENT_STATUSES) or attempt == ATTEMPTS:
                hint = " (grant User.Read.All)" if status in (401, 403) else ""
                raise TenantUnreadable(f"listing the tenant's users: HTTP {status}{hint}") from None
            await sleep(_retry_after(exc.response_headers) or min(0.25 * 2**attempt, 10.0))
    raise AssertionError("unreachable")


def _next_page(client: Any, link: str) -> Callable[[], Awaitable[Any]]:
    return lambda: client.users.with_url(link).get()


async def tenant_user_pages(
    client: Any, extension_names: list[str], *, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
) -> AsyncIterator[list[dict[str, Any]]]:
    """Every user of the tenant, page by page, with the base properties and `extension_names` selected."""
    select = BASE_SELECT + [n for n in extension_names if n not in BASE_SELECT]
    page = await _with_retries(lambda: first_users_page(client, select), sleep)
    while page is not None:
        yield [as_graph_json(u) for u in page.value or ()]
        next_link: str | None = page.odata_next_link
        if next_link is None:
            return
        page = await _with_retries(_next_page(client, next_link), sleep)
