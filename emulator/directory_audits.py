"""`GET /auditLogs/directoryAudits` (graph docs api-reference/v1.0/api/directoryaudit-list.md) and the control
feed that adds records, for the B2C change feed (B2C has no users delta query).

`$filter` on activityDateTime (ge/gt/le/lt) and `category eq '…'`, `$orderby=activityDateTime` (asc or desc;
newest first by default), `$top` up to 1,000, `@odata.nextLink` paging with a keyset skiptoken, so records added
later never shift a page. Counts against the reporting quota (5 requests / 10 s per app), like signIns.
Records are added with `POST /_emulator/directoryAudits` (one or a list); the emulator's own user writes do not
record audits. Records older than `retention_days` (7, as B2C keeps them) are not returned.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from emulator.context import Reply, RequestContext
from emulator.core import EmulatedTenant
from emulator.errors import bad_request
from emulator.paging import decode_token, encode_token, page_size
from emulator.state import parse_iso

MAX_TOP = 1000
RETENTION = timedelta(days=7)
_CLAUSE = re.compile(r"^\s*(activityDateTime|category)\s+(eq|ge|gt|le|lt)\s+(.+?)\s*$", re.IGNORECASE)


@dataclass
class AuditLog:
    records: list[tuple[datetime, str, dict[str, Any]]] = field(default_factory=list)


_LOGS: weakref.WeakKeyDictionary[EmulatedTenant, AuditLog] = weakref.WeakKeyDictionary()


def audit_log(tenant: EmulatedTenant) -> AuditLog:
    log = _LOGS.get(tenant)
    if log is None:
        log = _LOGS[tenant] = AuditLog()
    return log


def _criteria(raw: str | None) -> list[tuple[str, str, Any]]:
    if not raw:
        return []
    found: list[tuple[str, str, Any]] = []
    for clause in re.split(r"\s+and\s+", raw, flags=re.IGNORECASE):
        match = _CLAUSE.match(clause)
        if match is None:
            raise bad_request(f"Invalid filter clause: {clause}")
        name, op, value = match.group(1).lower(), match.group(2).lower(), match.group(3)
        if name == "category":
            found.append((name, op, value.strip("'")))
        else:
            try:
                found.append((name, op, parse_iso(value)))
            except ValueError as exc:
                raise bad_request(f"Invalid date in filter: {value}") from exc
    return found


def _matches(record: tuple[datetime, str, dict[str, Any]], criteria: list[tuple[str, str, Any]]) -> bool:
    at, _, data = record
    for name, op, value in criteria:
        if name == "category":
            if data.get("category") != value:
                return False
            continue
        ok = {"eq": at == value, "ge": at >= value, "gt": at > value, "le": at <= value, "lt": at < value}[op]
        if not ok:
            return False
    return True


def list_directory_audits(tenant: EmulatedTenant, ctx: RequestContext) -> Reply:
    criteria = _criteria(ctx.query.get("filter"))
    order = (ctx.query.get("orderby") or "activityDateTime desc").split()
    ascending = len(order) > 1 and order[1].lower() == "asc"
    top = page_size(ctx, MAX_TOP, MAX_TOP)
    edge = datetime.now(UTC) - RETENTION
    records = sorted(
        (r for r in audit_log(tenant).records if r[0] >= edge), key=lambda r: (r[0], r[1]), reverse=not ascending
    )
    if "skiptoken" in ctx.query:
        token = decode_token(ctx.query["skiptoken"], "audits")
        boundary = (parse_iso(str(token["t"])), str(token["i"]))
        records = [r for r in records if ((r[0], r[1]) > boundary if ascending else (r[0], r[1]) < boundary)]
    page = [r for r in records if _matches(r, criteria)]
    more = len(page) > top
    page = page[:top]
    body: dict[str, Any] = {
        "@odata.context": f"{ctx.base_url}/$metadata#auditLogs/directoryAudits",
        "value": [r[2] for r in page],
    }
    if more:
        last = page[-1]
        params = {f"${k}": v for k, v in ctx.query.items() if k != "skiptoken"}
        params["$skiptoken"] = encode_token("audits", {"t": last[0].isoformat(), "i": last[1]})
        body["@odata.nextLink"] = ctx.link("/auditLogs/directoryAudits", params)
    return Reply(200, body)


def add_directory_audits(tenant: EmulatedTenant, payload: Any) -> int:
    records = payload if isinstance(payload, list) else [payload]
    log = audit_log(tenant)
    known = {r[1] for r in log.records}
    added = 0
    for record in records:
        if not isinstance(record, dict) or not record.get("id") or not record.get("activityDateTime"):
            raise bad_request("Each directory audit must be an object with id and activityDateTime.")
        if record["id"] in known:
            continue
        data = {"category": "UserManagement", "result": "success", "loggedByService": "Core Directory", **record}
        log.records.append((parse_iso(str(data["activityDateTime"])), str(data["id"]), data))
        known.add(str(data["id"]))
        added += 1
    return added


def add_control_routes(app: web.Application, tenant: EmulatedTenant) -> None:
    async def post(request: web.Request) -> web.Response:
        try:
            added = add_directory_audits(tenant, await request.json())
        except ValueError:
            return web.json_response({"error": "body is not JSON"}, status=400)
        return web.json_response({"added": added})

    app.router.add_post("/_emulator/directoryAudits", post)
