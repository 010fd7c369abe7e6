"""`/groups`: create, upsert by uniqueName, list (filter by displayName or uniqueName), read, and membership.

Sources (microsoftgraph/microsoft-graph-docs-contrib, api-reference/v1.0): api/group-post-groups.md
(displayName ≤ 256, mailEnabled, mailNickname ≤ 64 ASCII without ``@ () \\ [] " ; : . <> , SPACE``, and
securityEnabled are required; 201 with the group), api/group-upsert.md (`PATCH /groups(uniqueName='…')`
with `Prefer: create-if-missing`: 201 when created, 204 when it existed and was updated; without the
header an unknown uniqueName is a 404), api/group-list.md, api/group-post-members.md (`POST
/groups/{id}/members/$ref` with `{"@odata.id": ".../directoryObjects/{id}"}`: 204; 400 when the object
is already a member; 404 when the object being added doesn't exist), api/group-list-members.md,
api/directoryobject-checkmembergroups.md (`POST /users/{id}/checkMemberGroups {"groupIds": [...]}`: 200 with
the ids, of those given, that the user is a member of; at most 20 ids).
The wording of the duplicate-member 400 ("One or more added object references already exist for the
following modified properties: 'members'.", code Request_BadRequest) is Graph's observed answer; the
doc page gives only the status. Membership is a set: the emulator can never hold a member twice.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from emulator.context import Reply, RequestContext
from emulator.core import EmulatedTenant
from emulator.errors import GraphError, bad_request, not_found, unsupported_query
from emulator.paging import decode_token, encode_token, page_size
from emulator.state import utc_now_iso

MAX_DISPLAY_NAME = 256
MAX_MAIL_NICKNAME = 64
MAX_TOP = 999
_NICKNAME_FORBIDDEN = set('@()\\[]";:.<>, ')
_FILTER = re.compile(r"^(displayName|uniqueName)\s+eq\s+'((?:[^']|'')*)'$", re.IGNORECASE)
_UNIQUE_KEY = re.compile(r"^\(uniqueName='((?:[^']|'')*)'\)$")
DUPLICATE_MEMBER = "One or more added object references already exist for the following modified properties: 'members'."
_WRITABLE = ("displayName", "description", "mailEnabled", "mailNickname", "securityEnabled", "groupTypes")


def _check_group(body: Any, *, creating: bool) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request("The request body must be a group object.")
    if creating:
        for name in ("displayName", "mailEnabled", "mailNickname", "securityEnabled"):
            if name not in body:
                raise bad_request(f"Property '{name}' is required when creating the group.")
    display_name = body.get("displayName")
    if "displayName" in body and (
        not isinstance(display_name, str) or not display_name.strip() or len(display_name) > MAX_DISPLAY_NAME
    ):
        raise bad_request("Invalid value specified for property 'displayName' of resource 'Group'.")
    nickname = body.get("mailNickname")
    if "mailNickname" in body and (
        not isinstance(nickname, str)
        or not nickname
        or len(nickname) > MAX_MAIL_NICKNAME
        or any(ord(c) > 127 or c in _NICKNAME_FORBIDDEN for c in nickname)
    ):
        raise bad_request("Invalid value specified for property 'mailNickname' of resource 'Group'.")
    for flag in ("mailEnabled", "securityEnabled"):
        if flag in body and not isinstance(body[flag], bool):
            raise bad_request(f"Invalid value specified for property '{flag}' of resource 'Group'.")
    return {k: body[k] for k in _WRITABLE if k in body}


def _new_group(tenant: EmulatedTenant, fields: dict[str, Any], unique_name: str | None) -> dict[str, Any]:
    group: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "createdDateTime": utc_now_iso(),
        "description": None,
        "groupTypes": [],
        "mail": None,
        "uniqueName": unique_name,
        **fields,
    }
    tenant.state.groups[group["id"]] = group
    tenant.state.group_members[group["id"]] = {}
    tenant.state.dirty = True
    return group


def _entity(ctx: RequestContext, group: dict[str, Any]) -> dict[str, Any]:
    return {"@odata.context": f"{ctx.base_url}/$metadata#groups/$entity", **group}


def create_group(tenant: EmulatedTenant, ctx: RequestContext) -> Reply:
    group = _new_group(tenant, _check_group(ctx.body, creating=True), None)
    return Reply(201, _entity(ctx, group), {"Location": f"{ctx.base_url}/groups/{group['id']}"})


def _by_unique_name(tenant: EmulatedTenant, unique_name: str) -> dict[str, Any] | None:
    return next((g for g in tenant.state.groups.values() if g.get("uniqueName") == unique_name), None)


def upsert_group(tenant: EmulatedTenant, ctx: RequestContext, key: str) -> Reply:
    """PATCH /groups(uniqueName='…'): create-if-missing makes a create safe to repeat."""
    match = _UNIQUE_KEY.match(key)
    if match is None:
        raise bad_request(f"Resource not found for the segment 'groups{key}'.")
    unique_name = match.group(1).replace("''", "'")
    existing = _by_unique_name(tenant, unique_name)
    if existing is not None:
        existing.update(_check_group(ctx.body, creating=False))
        tenant.state.dirty = True
        return Reply(204)
    if "create-if-missing" not in ctx.headers.get("prefer", "").lower():
        raise not_found(f"groups(uniqueName='{unique_name}')")
    group = _new_group(tenant, _check_group(ctx.body, creating=True), unique_name)
    return Reply(201, _entity(ctx, group), {"Location": f"{ctx.base_url}/groups/{group['id']}"})


def find_group(tenant: EmulatedTenant, key: str) -> dict[str, Any]:
    group = tenant.state.groups.get(key)
    if group is None:
        raise not_found(key)
    return group


def get_group(tenant: EmulatedTenant, ctx: RequestContext, key: str) -> Reply:
    return Reply(200, _entity(ctx, find_group(tenant, key)))


def _select(item: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    raw = ctx.query.get("select")
    if not raw:
        return item
    wanted = {s.strip() for s in raw.split(",") if s.strip()} | {"id"}
    return {k: v for k, v in item.items() if k in wanted or k.startswith("@odata")}


def _page(ctx: RequestContext, items: list[dict[str, Any]], kind: str, path: str, context: str) -> Reply:
    top = page_size(ctx, 100, MAX_TOP)
    after = 0
    token = ctx.query.get("skiptoken")
    if token:
        after = int(decode_token(token, kind).get("o", 0))
    body: dict[str, Any] = {"@odata.context": f"{ctx.base_url}/$metadata#{context}"}
    body["value"] = [_select(i, ctx) for i in items[after : after + top]]
    if after + top < len(items):
        params = {f"${k}": v for k, v in ctx.query.items() if k not in ("skiptoken",)}
        params["$skiptoken"] = encode_token(kind, {"o": after + top})
        body["@odata.nextLink"] = ctx.link(path, params)
    return Reply(200, body)


def list_groups(tenant: EmulatedTenant, ctx: RequestContext) -> Reply:
    groups = list(tenant.state.groups.values())
    expression = ctx.query.get("filter")
    if expression:
        match = _FILTER.match(expression.strip())
        if match is None:
            raise unsupported_query(f"Unsupported or invalid query filter clause specified for groups: {expression}")
        prop, value = match.group(1), match.group(2).replace("''", "'")
        if prop.lower() == "displayname":
            groups = [g for g in groups if str(g.get("displayName", "")).casefold() == value.casefold()]
        else:
            groups = [g for g in groups if g.get("uniqueName") == value]
    return _page(ctx, groups, "groups", "/groups", "groups")


def _referenced_id(body: Any) -> str:
    ref = body.get("@odata.id") if isinstance(body, dict) else None
    if not isinstance(ref, str) or "/" not in ref:
        raise bad_request("Invalid request body: '@odata.id' must reference a directory object.")
    return ref.rstrip("/").rsplit("/", 1)[1]


def add_member(tenant: EmulatedTenant, ctx: RequestContext, group_key: str) -> Reply:
    group = find_group(tenant, group_key)
    member_id = _referenced_id(ctx.body)
    user = tenant.state.users.get(member_id)
    if user is None:
        raise not_found(member_id)
    members = tenant.state.group_members.setdefault(group["id"], {})
    if member_id in members:
        raise GraphError(400, "Request_BadRequest", DUPLICATE_MEMBER)
    members[member_id] = None
    tenant.state.dirty = True
    return Reply(204)


def list_members(tenant: EmulatedTenant, ctx: RequestContext, group_key: str) -> Reply:
    group = find_group(tenant, group_key)
    items = []
    for member_id in tenant.state.group_members.get(group["id"], {}):
        user = tenant.state.users.get(member_id)
        if user is not None:  # a deleted user leaves the group's member list
            name = user.data.get("displayName")
            items.append({"@odata.type": "#microsoft.graph.user", "id": member_id, "displayName": name})
    return _page(ctx, items, "members", f"/groups/{group['id']}/members", "directoryObjects")


MAX_CHECK_IDS = 20


def check_member_groups(tenant: EmulatedTenant, ctx: RequestContext, user_key: str) -> Reply:
    user = tenant.state.lookup(user_key)
    if user is None:
        raise not_found(user_key)
    ids = ctx.body.get("groupIds") if isinstance(ctx.body, dict) else None
    if not isinstance(ids, list) or not ids or len(ids) > MAX_CHECK_IDS:
        raise bad_request(f"groupIds must list 1 to {MAX_CHECK_IDS} group ids.")
    value = [g for g in ids if user.id in tenant.state.group_members.get(str(g), {})]
    return Reply(200, {"@odata.context": f"{ctx.base_url}/$metadata#Collection(Edm.String)", "value": value})


def route_user_groups(tenant: EmulatedTenant, ctx: RequestContext, parts: list[str]) -> Reply | None:
    if len(parts) == 3 and parts[0] == "users" and parts[2] == "checkMemberGroups":
        if ctx.method == "POST":
            return check_member_groups(tenant, ctx, parts[1])
        raise _not_allowed()
    return None


def route_groups(tenant: EmulatedTenant, ctx: RequestContext, parts: list[str]) -> Reply | None:
    """The groups routes, or None when `parts` is not below /groups."""
    head, method = parts[0], ctx.method
    if head.startswith("groups("):
        if len(parts) == 1 and method == "PATCH":
            return upsert_group(tenant, ctx, head[len("groups") :])
        if len(parts) == 1 and method == "GET":
            found = _by_unique_name(tenant, (_UNIQUE_KEY.match(head[len("groups") :]) or _none()).group(1))
            if found is None:
                raise not_found(head)
            return Reply(200, _entity(ctx, found))
        raise _not_allowed()
    if head != "groups":
        return None
    if len(parts) == 1:
        if method == "GET":
            return list_groups(tenant, ctx)
        if method == "POST":
            return create_group(tenant, ctx)
        raise _not_allowed()
    if len(parts) == 2 and method == "GET":
        return get_group(tenant, ctx, parts[1])
    if len(parts) == 3 and parts[2] == "members" and method == "GET":
        return list_members(tenant, ctx, parts[1])
    if len(parts) == 4 and parts[2:] == ["members", "$ref"] and method == "POST":
        return add_member(tenant, ctx, parts[1])
    raise _not_allowed() if len(parts) <= 4 else bad_request(f"Resource not found for the segment '{parts[-1]}'.")


def _none() -> re.Match[str]:
    raise bad_request("Invalid alternate key: use groups(uniqueName='…').")


def _not_allowed() -> GraphError:
    return GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
