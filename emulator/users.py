"""`/users` handlers: create, read, list (filter/select/top/count/paging), update, delete, and restore from
`/directory/deletedItems`.

Create and update validate everything before touching state, so a 400 never leaves a half-made
user; string properties keep their documented maximum lengths (graph docs resources/user.md). Reads
without `$select` return Graph's default property set (resources/user.md), so a client that needs
`identities` or extension values must `$select` them, as against Entra.
Read-after-write lag (the `lag` fault): inside `lag-ms` of a create, GET answers 404; inside `lag-ms` of a
PATCH, GET answers the previous data; an identity, mail or UPN `$filter` doesn't find a user created or
changed inside the window. DELETE is soft (api/user-delete.md: 204; the user is restorable for 30 days, then
purged; an unknown or already deleted id is 404, so repeating a delete is a 404);
`POST /directory/deletedItems/{id}/restore` brings the user back (api/directory-deleteditems-restore.md: 200 with
the object) unless another user took its identities.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from emulator.context import Reply, RequestContext
from emulator.core import EmulatedTenant
from emulator.errors import GraphError, bad_request, invalid_value, not_found, object_conflict
from emulator.extensions import check_extension_values
from emulator.odata_filter import parse_user_filter
from emulator.paging import decode_token, encode_token, page_size
from emulator.state import DELETED_RETENTION_S, UserRecord, identity_key, utc_now_iso
from emulator.validation import (
    check_display_name,
    check_known_properties,
    check_mail,
    check_scalar_types,
    check_upn,
    is_local_sign_in,
    normalize_identities,
    normalize_password_profile,
    parse_password_policies,
)

DEFAULT_PROPERTIES = (
    "businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
    "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id",
)  # fmt: skip
MAX_TOP = 999
USERS_CONTEXT = "$metadata#users"
# Documented maximum lengths of writable string properties (graph docs resources/user.md).
MAX_LENGTHS = {
    "displayName": 256, "givenName": 64, "surname": 64, "mobilePhone": 64, "mailNickname": 64,
    "jobTitle": 128, "city": 128, "country": 128, "companyName": 64, "department": 64, "employeeId": 16,
}  # fmt: skip


def check_lengths(body: dict[str, Any]) -> None:
    for name, limit in MAX_LENGTHS.items():
        value = body.get(name)
        if isinstance(value, str) and len(value) > limit:
            raise bad_request(f"Invalid value specified for property '{name}' of resource 'User': longer than {limit}.")


def is_young(tenant: EmulatedTenant, record: UserRecord, *, created_only: bool = False) -> bool:
    """Inside the read-after-write window of its create (or, unless created_only, of its last update)."""
    window = tenant.faults.spec.lag_ms / 1000
    now = time.monotonic()
    if now - record.created_mono < window:
        return True
    return not created_only and record.updated_mono > 0 and now - record.updated_mono < window


# ---- projection ------------------------------------------------------------------------------
def parse_select(ctx: RequestContext) -> tuple[str, ...] | None:
    raw = ctx.query.get("select")
    if raw is None:
        return None
    names = tuple(n.strip() for n in raw.split(",") if n.strip())
    if not names:
        raise bad_request("Invalid $select: no property named.")
    return names


def project(data: dict[str, Any], select: tuple[str, ...] | None) -> dict[str, Any]:
    names = select or DEFAULT_PROPERTIES
    return {name: data.get(name) for name in names if name in data or not name.startswith("extension_")}


def public_view(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if not k.startswith("_")}


# ---- create ----------------------------------------------------------------------------------
def create_user(tenant: EmulatedTenant, ctx: RequestContext) -> Reply:
    body = ctx.body
    if not isinstance(body, dict):
        raise bad_request("The request body must be a user object.")
    state = tenant.state
    config = tenant.config
    check_known_properties(body)
    check_scalar_types(body)
    check_display_name(body.get("displayName"))
    check_lengths(body)
    identities: list[dict[str, str]] = []
    raw_identities = _without_upn_identity(body.get("identities"))
    if raw_identities:
        identities = normalize_identities(
            raw_identities, config.tenant, allow_federated=config.allow_federated_identities
        )
    elif "identities" in body and body["identities"] not in (None, []):
        raise invalid_value("identities")
    upn = body.get("userPrincipalName")
    if not identities and upn is None:
        raise bad_request("Property userPrincipalName is required when identities are not given.")
    if not identities and "accountEnabled" not in body:
        raise bad_request("Property accountEnabled is required.")
    policies = parse_password_policies(body.get("passwordPolicies"))
    has_local = any(is_local_sign_in(i["signInType"]) for i in identities)
    federated_only = bool(identities) and all(i["signInType"].lower() == "federated" for i in identities)
    if has_local and config.require_disable_password_expiration and "DisablePasswordExpiration" not in policies:
        raise bad_request("Local account identities require passwordPolicies 'DisablePasswordExpiration'.")
    profile: dict[str, Any] | None = None
    if body.get("passwordProfile") is not None:
        profile = normalize_password_profile(body["passwordProfile"], strong="DisableStrongPassword" not in policies)
    elif not federated_only:
        raise bad_request("Property passwordProfile is required.")
    check_mail(body.get("mail"))
    if upn is not None:
        check_upn(upn, config.tenant)
    check_extension_values(body, state.extension_properties, {}, config.quotas.max_extension_values_per_user)
    # Uniqueness after shape: Graph reports the conflict only for a request that is otherwise valid.
    for identity in identities:
        if identity_key(identity["issuer"], identity["issuerAssignedId"]) in state.by_identity:
            raise object_conflict("identities")
    if upn is not None and upn.casefold() in state.by_upn:
        raise object_conflict("userPrincipalName")
    if state.object_count >= config.quotas.object_quota:
        raise GraphError(
            400,
            "Directory_QuotaExceeded",
            "The directory object quota limit for the Tenant has been exceeded. Please ask your "
            "administrator to increase the quota limit or delete objects to reduce the used quota.",
        )
    user_id = str(uuid.uuid4())
    upn = upn or f"{user_id}@{config.tenant}"
    data: dict[str, Any] = {
        k: v for k, v in body.items() if not k.startswith("@odata.") and v is not None and k != "passwordProfile"
    }
    data.update(
        {
            "id": user_id,
            "userPrincipalName": upn,
            "accountEnabled": body.get("accountEnabled", True),
            "createdDateTime": utc_now_iso(),
            "creationType": "LocalAccount" if has_local else None,
            "userType": body.get("userType") or "Member",
            "businessPhones": body.get("businessPhones") or [],
            "identities": [*identities, _upn_identity(upn, config.tenant)],
        }
    )
    if profile is not None:
        data["passwordProfile"] = profile
    record = state.add_user(data)
    if profile is not None:  # a digest for simulated sign-ins (signin_sim); the password itself is not kept
        tenant.passwords.remember(record.id, body["passwordProfile"].get("password"))
    result = {"@odata.context": f"{ctx.base_url}/{USERS_CONTEXT}/$entity", **public_view(record.data)}
    return Reply(201, result, {"Location": f"{ctx.base_url}/users/{user_id}"})


def _without_upn_identity(value: Any) -> Any:
    # The UPN identity mirrors userPrincipalName: Entra derives it, so a client copy is ignored.
    if not isinstance(value, list):
        return value
    return [i for i in value if not (isinstance(i, dict) and i.get("signInType") == "userPrincipalName")]


def _upn_identity(upn: str, tenant: str) -> dict[str, str]:
    # Entra lists the UPN as an identity of every user (graph docs resources/objectidentity.md).
    return {"signInType": "userPrincipalName", "issuer": tenant, "issuerAssignedId": upn}


# ---- read ------------------------------------------------------------------------------------
def get_user(tenant: EmulatedTenant, ctx: RequestContext, key: str, *, lag: bool) -> Reply:
    """`lag`: this request drew the read-after-write fault (a young user reads as absent, or as it was)."""
    record = tenant.state.lookup(key)
    if record is None:
        raise not_found(key)
    data = record.data
    if lag and is_young(tenant, record, created_only=True):
        tenant.faults.note("lag")
        raise not_found(key)
    if lag and record.previous is not None and is_young(tenant, record):
        tenant.faults.note("lag")
        data = record.previous
    body = {"@odata.context": f"{ctx.base_url}/{USERS_CONTEXT}/$entity", **project(data, parse_select(ctx))}
    return Reply(200, body)


def list_users(tenant: EmulatedTenant, ctx: RequestContext, *, lag: bool = False) -> Reply:
    state = tenant.state
    select = parse_select(ctx)
    top = page_size(ctx, tenant.config.page_size_default, MAX_TOP)
    count_requested = ctx.query.get("count", "").lower() == "true"
    # A nextLink carries the first page's consistency choice, so only the first page needs the header.
    eventual = ctx.headers.get("consistencylevel", "").lower() == "eventual" or "skiptoken" in ctx.query
    if count_requested and not eventual:
        raise bad_request("$count on directory objects requires the header ConsistencyLevel: eventual.")
    expression = ctx.query.get("filter")
    body: dict[str, Any] = {"@odata.context": f"{ctx.base_url}/{USERS_CONTEXT}"}
    if expression:
        records = _filtered(tenant, expression)
        if lag and any(is_young(tenant, r) for r in records):
            tenant.faults.note("lag")  # the index hasn't caught up with a recent create or change
            records = [r for r in records if not is_young(tenant, r)]
        after = 0
        token = ctx.query.get("skiptoken")
        if token:
            after = int(decode_token(token, "users-f").get("o", 0))
        page = records[after : after + top]
        if count_requested:
            body["@odata.count"] = len(records)
        body["value"] = [project(r.data, select) for r in page]
        if after + top < len(records):
            params = {k: v for k, v in _link_params(ctx).items() if k != "$skiptoken"}
            params["$skiptoken"] = encode_token("users-f", {"o": after + top})
            body["@odata.nextLink"] = ctx.link("/users", params)
        return Reply(200, body)
    after_seq = 0
    token = ctx.query.get("skiptoken")
    if token:
        after_seq = int(decode_token(token, "users").get("s", 0))
    page = state.users_after(after_seq, top + 1)
    if count_requested:
        body["@odata.count"] = len(state.users)
    body["value"] = [project(r.data, select) for r in page[:top]]
    if len(page) > top:
        params = {k: v for k, v in _link_params(ctx).items() if k != "$skiptoken"}
        params["$skiptoken"] = encode_token("users", {"s": page[top - 1].seq})
        body["@odata.nextLink"] = ctx.link("/users", params)
    return Reply(200, body)


def count_users(tenant: EmulatedTenant, ctx: RequestContext) -> Reply:
    if ctx.headers.get("consistencylevel", "").lower() != "eventual":
        raise bad_request("$count on directory objects requires the header ConsistencyLevel: eventual.")
    return Reply(200, str(len(tenant.state.users)), {"Content-Type": "text/plain"})


def _link_params(ctx: RequestContext) -> dict[str, str]:
    return {f"${k}": v for k, v in ctx.query.items()}


def _filtered(tenant: EmulatedTenant, expression: str) -> list[UserRecord]:
    state = tenant.state
    parsed = parse_user_filter(expression)
    ids: list[str] = []
    if parsed.field == "identity":
        user_id = state.by_identity.get(identity_key(parsed.issuer, parsed.value))
        ids = [user_id] if user_id else []
    elif parsed.field == "mail":
        ids = sorted(state.by_mail.get(parsed.value.casefold(), ()), key=lambda i: state.users[i].seq)
    elif parsed.field == "id":
        ids = [parsed.value] if parsed.value in state.users else []
    elif parsed.field == "userPrincipalName":
        user_id = state.by_upn.get(parsed.value.casefold())
        ids = [user_id] if user_id else []
    return [state.users[i] for i in ids]


# ---- update / delete -------------------------------------------------------------------------
def update_user(tenant: EmulatedTenant, ctx: RequestContext, key: str) -> Reply:
    state = tenant.state
    config = tenant.config
    record = state.lookup(key)
    if record is None:
        raise not_found(key)
    body = ctx.body
    if not isinstance(body, dict):
        raise bad_request("The request body must be a user object.")
    check_known_properties(body)
    check_scalar_types(body)
    data = dict(record.data)
    if "displayName" in body:
        check_display_name(body["displayName"])
    check_lengths(body)
    policies = parse_password_policies(body.get("passwordPolicies", data.get("passwordPolicies")))
    identities: list[dict[str, str]] | None = None
    if "identities" in body:
        raw = _without_upn_identity(body["identities"])
        identities = normalize_identities(raw, config.tenant, allow_federated=config.allow_federated_identities)
        for identity in identities:
            owner = state.by_identity.get(identity_key(identity["issuer"], identity["issuerAssignedId"]))
            if owner is not None and owner != record.id:
                raise object_conflict("identities")
    if body.get("passwordProfile") is not None:
        data["passwordProfile"] = normalize_password_profile(
            body["passwordProfile"], strong="DisableStrongPassword" not in policies
        )
    if "mail" in body:
        check_mail(body["mail"])
    upn = body.get("userPrincipalName")
    if upn is not None:
        check_upn(upn, config.tenant)
        owner = state.by_upn.get(upn.casefold())
        if owner is not None and owner != record.id:
            raise object_conflict("userPrincipalName")
    check_extension_values(body, state.extension_properties, data, config.quotas.max_extension_values_per_user)
    for name, value in body.items():
        if name.startswith("@odata.") or name in ("passwordProfile", "identities"):
            continue
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    upn_now = str(data["userPrincipalName"])
    if identities is not None:
        data["identities"] = [*identities, _upn_identity(upn_now, config.tenant)]
    elif upn is not None:
        kept = [i for i in data.get("identities", []) if i["signInType"] != "userPrincipalName"]
        data["identities"] = [*kept, _upn_identity(upn_now, config.tenant)]
    state.replace_user_data(record, data)
    if body.get("passwordProfile") is not None:
        tenant.passwords.remember(record.id, body["passwordProfile"].get("password"))
    return Reply(204)


def delete_user(tenant: EmulatedTenant, key: str) -> Reply:
    """Soft delete: 204; the user waits in deleted items (restorable for 30 days)."""
    record = tenant.state.lookup(key)
    if record is None:
        raise not_found(key)
    tenant.state.remove_user(record)
    tenant.passwords.forget(record.id)
    return Reply(204)


def _deleted(tenant: EmulatedTenant, key: str) -> UserRecord:
    state = tenant.state
    state.purge_deleted(tenant.config.scaled(DELETED_RETENTION_S))
    record = state.deleted.get(key)
    if record is None:
        raise not_found(key)
    return record


def get_deleted_item(tenant: EmulatedTenant, ctx: RequestContext, key: str) -> Reply:
    record = _deleted(tenant, key)
    body = {
        "@odata.context": f"{ctx.base_url}/$metadata#directoryObjects/$entity",
        "@odata.type": "#microsoft.graph.user",
        **project(record.data, parse_select(ctx) or (*DEFAULT_PROPERTIES, "deletedDateTime")),
    }
    return Reply(200, body)


def restore_deleted_item(tenant: EmulatedTenant, ctx: RequestContext, key: str) -> Reply:
    """POST /directory/deletedItems/{id}/restore → 200 with the restored user."""
    record = _deleted(tenant, key)
    if tenant.state.identity_taken(record):
        raise object_conflict("identities")
    tenant.state.restore_user(record)
    body = {
        "@odata.context": f"{ctx.base_url}/$metadata#directoryObjects/$entity",
        "@odata.type": "#microsoft.graph.user",
        **public_view(record.data),
    }
    return Reply(200, body)
