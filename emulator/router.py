"""Maps a Graph path below /v1.0 to its handler and prices it against the quotas.

Costs follow graph docs throttling-limits.md (identity and access): GET users, applications and
extensionProperties lists cost 2 resource units, other GETs 1; POST/PATCH/PUT/DELETE cost 1 RU
and 1 write; `$select` and `$top` < 20 take 1 off, never below 1. auditLogs counts only against
the reporting quota. `$search`, `$orderby` and `$expand` are refused with a 400 (the emulator does not
model them; answering as if they had been applied would hide a client's dependence on them).
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator import (
    app_consent,
    app_registrations,
    app_roles,
    applications,
    auth_methods,
    callout_config,
    delta,
    directory_audits,
    signins,
    tenant_setup,
    users,
)
from emulator.context import Reply, RequestContext
from emulator.core import EmulatedTenant
from emulator.directory_info import route_directory_info
from emulator.errors import GraphError, bad_request, unsupported_query
from emulator.groups import route_groups, route_user_groups

WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
LIST_COST_2 = (("users",), ("applications",), ("users", "delta"))


@dataclass(frozen=True)
class Cost:
    write: bool
    resource_units: int
    reporting: bool


def segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def price(ctx: RequestContext, parts: list[str]) -> Cost:
    if parts[:1] == ["auditLogs"]:
        return Cost(write=False, resource_units=0, reporting=True)
    if ctx.method in WRITE_METHODS:
        return Cost(write=True, resource_units=1, reporting=False)
    units = 1
    if tuple(parts) in LIST_COST_2 or (len(parts) == 3 and parts[2] == "extensionProperties"):
        units = 2
    if "select" in ctx.query:
        units -= 1
    top = ctx.query.get("top")
    if top is not None and top.isdigit() and int(top) < 20:
        units -= 1
    return Cost(write=False, resource_units=max(units, 1), reporting=False)


def _not_allowed() -> GraphError:
    return GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")


# concepts/aad-advanced-queries.md: Graph's own answer to $search on directory objects without the header.
SEARCH_NEEDS_EVENTUAL = (
    "Request with $search query parameter only works through MSGraph with a special request header: "
    "'ConsistencyLevel: eventual'"
)


def refuse_unmodelled_options(ctx: RequestContext) -> None:
    """400 for query options the emulator cannot honour, instead of silently ignoring them."""
    if "search" in ctx.query:
        if ctx.headers.get("consistencylevel", "").lower() != "eventual":
            raise unsupported_query(SEARCH_NEEDS_EVENTUAL)
        raise unsupported_query("$search is not modelled by the tenant emulator (docs/emulator.md).")
    if "orderby" in ctx.query and ctx.path.rstrip("/") != "/auditLogs/directoryAudits":  # that one models it
        # Graph's wording when it cannot sort a query (concepts/aad-advanced-queries.md).
        raise unsupported_query("Sorting not supported for current query. ($orderby is not modelled by the emulator.)")
    if "expand" in ctx.query:
        raise unsupported_query("$expand is not modelled by the tenant emulator (docs/emulator.md).")


def route(tenant: EmulatedTenant, ctx: RequestContext, parts: list[str], *, lag: bool) -> Reply:
    method = ctx.method
    refuse_unmodelled_options(ctx)
    if not parts:
        raise bad_request("Invalid request: no resource segment.")
    head = parts[0]
    info = route_directory_info(tenant, ctx, parts)
    if info is not None:
        return info
    membership = (
        route_groups(tenant, ctx, parts)
        or app_consent.route_consent(tenant, ctx, parts)
        or app_roles.route_service_principals(tenant, ctx, parts)
    )
    if membership is not None:
        return membership
    setup = tenant_setup.route_tenant_setup(tenant, ctx, parts)
    if setup is not None:
        return setup
    if head == "users":
        assignments = app_roles.route_user_assignments(tenant, ctx, parts) or route_user_groups(tenant, ctx, parts)
        if assignments is not None:
            return assignments
        return _route_users(tenant, ctx, parts, lag=lag)
    if head == "applications" or head.startswith("applications("):
        if head != "applications":  # alternate key: applications(appId='…')
            parts = ["applications", head[len("applications") :], *parts[1:]]
        if len(parts) == 1:
            if method == "GET":
                return applications.list_applications(tenant, ctx)
            if method == "POST":
                return callout_config.create_application(tenant, ctx)
            raise _not_allowed()
        if len(parts) == 2 and method == "GET" and "keyCredentials" in ctx.query.get("select", ""):
            return app_registrations.get_with_keys(tenant, ctx, applications.find(tenant, parts[1]))
        if len(parts) == 2 and method == "GET":
            return applications.get_application(tenant, ctx, parts[1])
        if len(parts) == 2 and method == "DELETE":
            return app_registrations.delete_application(tenant, applications.find(tenant, parts[1]))
        if len(parts) == 2 and method == "PATCH":
            return callout_config.update_application(tenant, ctx, applications.find(tenant, parts[1]))
        if len(parts) == 3 and parts[2] == "extensionProperties":
            if method == "GET":
                return applications.list_extension_properties(tenant, ctx, parts[1])
            if method == "POST":
                return applications.create_extension_property(tenant, ctx, parts[1])
        if len(parts) == 4 and parts[2] == "extensionProperties" and method == "DELETE":
            return applications.delete_extension_property(tenant, parts[1], parts[3])
        raise _not_allowed() if len(parts) <= 3 else _unknown(parts)
    if parts[:2] == ["directory", "deletedItems"] and len(parts) in (3, 4):
        if len(parts) == 3 and method == "GET":
            return users.get_deleted_item(tenant, ctx, parts[2])
        if len(parts) == 4 and parts[3] == "restore" and method == "POST":
            return users.restore_deleted_item(tenant, ctx, parts[2])
        raise _not_allowed()
    if head == "identity":
        reply = callout_config.route_identity(tenant, ctx, parts)
        if reply is not None:
            return reply
        raise _not_allowed() if len(parts) <= 3 else _unknown(parts)
    if parts == ["auditLogs", "signIns"]:
        if method == "GET":
            return signins.list_sign_ins(tenant, ctx)
        raise _not_allowed()
    if parts == ["auditLogs", "directoryAudits"]:
        if method == "GET":
            return directory_audits.list_directory_audits(tenant, ctx)
        raise _not_allowed()
    raise _unknown(parts)


def _route_users(tenant: EmulatedTenant, ctx: RequestContext, parts: list[str], *, lag: bool) -> Reply:
    method = ctx.method
    if len(parts) == 1:
        if method == "GET":
            return users.list_users(tenant, ctx, lag=lag)
        if method == "POST":
            return users.create_user(tenant, ctx)
        raise _not_allowed()
    key = parts[1]
    if len(parts) == 2:
        if key in ("delta", "delta()") and method == "GET":
            return delta.users_delta(tenant, ctx)
        if key == "$count" and method == "GET":
            return users.count_users(tenant, ctx)
        if method == "GET":
            return users.get_user(tenant, ctx, key, lag=lag)
        if method == "PATCH":
            return users.update_user(tenant, ctx, key)
        if method == "DELETE":
            return users.delete_user(tenant, key)
        raise _not_allowed()
    if len(parts) == 4 and parts[2] == "authentication":
        kind = {"phoneMethods": "phone", "emailMethods": "email"}.get(parts[3])
        if kind is None:
            raise _unknown(parts)
        if method == "GET":
            return auth_methods.list_methods(tenant, ctx, key, kind)
        if method == "POST" and kind == "phone":
            return auth_methods.add_phone_method(tenant, ctx, key)
        if method == "POST":
            return auth_methods.add_email_method(tenant, ctx, key)
        raise _not_allowed()
    raise _unknown(parts)


def _unknown(parts: list[str]) -> GraphError:
    return bad_request(f"Resource not found for the segment '{parts[-1]}'.")
