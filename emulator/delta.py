"""`GET /users/delta` (graph docs api/user-delta.md, concepts/delta-query-overview.md).

The first round pages through every user, then hands out a deltaLink whose token names the
change sequence it covers and the token generation. A later round returns users changed since,
and deleted users as `{"id", "@removed": {"reason": "changed"}}` (Entra soft-deletes users). A
token older than `delta_token_ttl_s` (time-scaled) or from an expired generation answers 410.
`$filter=id eq '…' [or id eq '…']` (≤ 50 ids) tracks only those users; the ids travel in the tokens,
as Graph encodes the first request's query parameters into its links.
"""

from __future__ import annotations

import time
from typing import Any

from emulator.context import Reply, RequestContext
from emulator.core import EmulatedTenant
from emulator.errors import GraphError
from emulator.odata_filter import parse_delta_filter
from emulator.paging import decode_token, encode_token, page_size
from emulator.users import parse_select, project

MAX_DELTA_PAGE = 999


def _gone() -> GraphError:
    return GraphError(
        410,
        "syncStateNotFound",
        "The delta token is expired and data must be synchronized again: restart without a token.",
    )


def users_delta(tenant: EmulatedTenant, ctx: RequestContext) -> Reply:
    state = tenant.state
    select = parse_select(ctx)
    top = page_size(ctx, tenant.config.page_size_default, MAX_DELTA_PAGE)
    params = {"$select": ctx.query["select"]} if "select" in ctx.query else {}
    skip = ctx.query.get("skiptoken")
    delta = ctx.query.get("deltatoken")
    body: dict[str, Any] = {"@odata.context": f"{ctx.base_url}/$metadata#users(delta)"}
    if skip:
        token = decode_token(skip, "delta-page")
        _check_alive(tenant, token)
    elif delta:
        token = decode_token(delta, "delta")
        _check_alive(tenant, token)
        token = {"phase": "changes", "from": token["c"], "upto": state.change_seq, "o": 0,
                 **({"f": token["f"]} if "f" in token else {})}  # fmt: skip
    else:
        token = {"phase": "initial", "upto": state.change_seq, "o": 0}
        expression = ctx.query.get("filter")
        if expression:
            token["f"] = parse_delta_filter(expression)
    token = {**token, "g": state.delta_generation, "t": token.get("t", time.time())}
    only: set[str] | None = set(token["f"]) if "f" in token else None
    if token["phase"] == "initial":
        if only is None:
            records = state.users_after(int(token["o"]), top + 1)
        else:
            after = int(token["o"])
            chosen = sorted((state.users[i] for i in only if i in state.users), key=lambda r: r.seq)
            records = [r for r in chosen if r.seq > after][: top + 1]
        body["value"] = [project(r.data, select) for r in records[:top]]
        more = len(records) > top
        next_offset = records[top - 1].seq if more else 0
    else:
        changed = _changed_ids(tenant, int(token["from"]), int(token["upto"]))
        if only is not None:
            changed = [i for i in changed if i in only]
        start = int(token["o"])
        window = changed[start : start + top]
        body["value"] = [
            project(state.users[i].data, select) if i in state.users else {"id": i, "@removed": {"reason": "changed"}}
            for i in window
        ]
        more = start + top < len(changed)
        next_offset = start + top
    if more:
        page_token = encode_token("delta-page", {**token, "o": next_offset})
        body["@odata.nextLink"] = ctx.link("/users/delta", {**params, "$skiptoken": page_token})
    else:
        final_token: dict[str, Any] = {"c": token["upto"], "g": state.delta_generation, "t": time.time()}
        if only is not None:
            final_token["f"] = token["f"]
        final = encode_token("delta", final_token)
        body["@odata.deltaLink"] = ctx.link("/users/delta", {**params, "$deltatoken": final})
    return Reply(200, body)


def _check_alive(tenant: EmulatedTenant, token: dict[str, Any]) -> None:
    ttl = tenant.config.scaled(tenant.config.quotas.delta_token_ttl_s)
    if token.get("g") != tenant.state.delta_generation or time.time() - float(token.get("t", 0)) > ttl:
        raise _gone()


def _changed_ids(tenant: EmulatedTenant, after: int, upto: int) -> list[str]:
    """Ids changed in (after, upto], each once, in order of their last change."""
    changes = tenant.state.changes
    last: dict[str, int] = {}
    # The log is append-only and ordered, so scan from the end back to `after`.
    for seq, user_id in reversed(changes):
        if seq <= after:
            break
        if seq <= upto and user_id not in last:
            last[user_id] = seq
    return sorted(last, key=last.__getitem__)
