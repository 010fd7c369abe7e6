"""`GET /auditLogs/signIns` (graph docs api/signin-list.md) and the control feed that adds records.

Newest first, `$filter` on createdDateTime (ge/gt/le/lt) plus userId/appId, `$top` up to 1,000,
keyset paging so records that arrive late (R14) never shift a page under a reader.
The reporting quota (5 requests / 10 s per app) is enforced by the throttle, not here.
"""

from __future__ import annotations

import bisect
from typing import Any

from emulator.context import Reply, RequestContext
from emulator.core import EmulatedTenant
from emulator.errors import bad_request
from emulator.odata_filter import parse_sign_in_filter
from emulator.paging import decode_token, encode_token, page_size
from emulator.state import SignIn, parse_iso

MAX_TOP = 1000


def list_sign_ins(tenant: EmulatedTenant, ctx: RequestContext) -> Reply:
    tenant.arrivals.release_due(tenant.state)  # records whose arrival delay has passed become visible
    criteria = parse_sign_in_filter(ctx.query.get("filter"))
    top = page_size(ctx, MAX_TOP, MAX_TOP)
    boundary: tuple[str, str] | None = None
    if "skiptoken" in ctx.query:
        token = decode_token(ctx.query["skiptoken"], "signins")
        boundary = (str(token["c"]), str(token["i"]))
    page: list[SignIn] = []
    more = False
    boundary_key = (parse_iso(boundary[0]), boundary[1]) if boundary else None
    records = tenant.state.sign_ins  # sorted by (createdDateTime, id): start at the boundary, stop below the range
    end = len(records)
    if boundary_key is not None:
        end = bisect.bisect_left(records, boundary_key, key=lambda s: s.key)
    if criteria.upper is not None:
        end = min(end, bisect.bisect_right(records, criteria.upper, key=lambda s: s.created))
    for index in range(end - 1, -1, -1):
        sign_in = records[index]
        if criteria.lower is not None and sign_in.created < criteria.lower:
            break
        if not criteria.in_range(sign_in.created) or not criteria.matches_fields(sign_in.data):
            continue
        if len(page) == top:
            more = True
            break
        page.append(sign_in)
    body: dict[str, Any] = {
        "@odata.context": f"{ctx.base_url}/$metadata#auditLogs/signIns",
        "value": [s.data for s in page],
    }
    if more:
        last = page[-1]
        params = {f"${k}": v for k, v in ctx.query.items() if k != "skiptoken"}
        params["$skiptoken"] = encode_token("signins", {"c": last.created.isoformat(), "i": last.data["id"]})
        body["@odata.nextLink"] = ctx.link("/auditLogs/signIns", params)
    return Reply(200, body)


def add_sign_ins(tenant: EmulatedTenant, payload: Any) -> int:
    """Control feed: one record or a list; ids already present are skipped. Returns added count."""
    records = payload if isinstance(payload, list) else [payload]
    added = 0
    for record in records:
        if not isinstance(record, dict):
            raise bad_request("Each sign-in must be a JSON object.")
        record = {
            "userId": None,
            "appId": None,
            "clientAppUsed": "Browser",
            "ipAddress": "127.0.0.1",
            "isInteractive": True,
            "status": {"errorCode": 0, "failureReason": None},
            "riskLevelDuringSignIn": "hidden",
            **record,
        }
        try:
            added += tenant.state.add_sign_in(record)
        except ValueError as exc:
            raise bad_request(f"createdDateTime is not an ISO 8601 date-time: {exc}") from exc
    return added
