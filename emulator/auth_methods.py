"""`/users/{id}/authentication/phoneMethods` and `emailMethods` (graph docs
api/authentication-post-phonemethods.md, api/authentication-post-emailmethods.md).

Answered the same alone or as a `$batch` item (emulator/batch.py runs each item through the same pipeline:
its own status, fault draw and quota check, concepts/throttling.md "Throttling and batching").
Phone methods have fixed ids per type and one number per type, and "a user must always have a
`mobile` phone before adding an `alternateMobile` phone"; a user has one email method. Phone numbers
must look like `+{country code} {subscriber number}[x{extension}]`.
"""

from __future__ import annotations

import re
from typing import Any

from emulator.context import Reply, RequestContext
from emulator.core import EmulatedTenant
from emulator.errors import bad_request, not_found
from emulator.validation import is_email

PHONE_METHOD_IDS = {
    "mobile": "3179e48a-750b-4051-897c-87b9720928f7",
    "alternateMobile": "b6332ec1-7057-4abe-9331-3d72feddfe41",
    "office": "e37fc753-ff3b-4958-9484-eaa9425c82bc",
}
EMAIL_METHOD_ID = "3ddfcfc8-9383-446f-83cc-3ab9be4be18f"
_PHONE = re.compile(r"^\+\d{1,3} \d{4,15}(x\d{1,10})?$")


def _count_post(tenant: EmulatedTenant, ctx: RequestContext) -> None:
    tenant.state.auth_method_posts += 1
    if ctx.in_batch:  # a `$batch` item: answered, faulted and throttled on its own like any item (batch.py)
        tenant.state.auth_method_posts_in_batch += 1


def _methods(tenant: EmulatedTenant, user_key: str) -> tuple[str, dict[str, dict[str, Any]]]:
    record = tenant.state.lookup(user_key)
    if record is None:
        raise not_found(user_key)
    return record.id, tenant.state.auth_methods.setdefault(record.id, {})


def add_phone_method(tenant: EmulatedTenant, ctx: RequestContext, user_key: str) -> Reply:
    _count_post(tenant, ctx)
    _, methods = _methods(tenant, user_key)
    body = ctx.body if isinstance(ctx.body, dict) else {}
    number, phone_type = body.get("phoneNumber"), body.get("phoneType")
    if phone_type not in PHONE_METHOD_IDS:
        raise bad_request("Property phoneType must be mobile, alternateMobile or office.")
    if not isinstance(number, str) or not _PHONE.match(number):
        raise bad_request("Property phoneNumber must be in the format '+{country code} {number}'.")
    if phone_type == "alternateMobile" and "phone:mobile" not in methods:
        raise bad_request("A user must have a mobile phone method before an alternateMobile one is added.")
    key = f"phone:{phone_type}"
    if key in methods:
        raise bad_request(f"A {phone_type} phone method already exists for this user.")
    method = {
        "id": PHONE_METHOD_IDS[phone_type],
        "phoneNumber": number,
        "phoneType": phone_type,
        "smsSignInState": "notSupported",
    }
    methods[key] = method
    tenant.state.dirty = True
    return Reply(201, {"@odata.context": f"{ctx.base_url}/$metadata#phoneAuthenticationMethod", **method})


def add_email_method(tenant: EmulatedTenant, ctx: RequestContext, user_key: str) -> Reply:
    _count_post(tenant, ctx)
    _, methods = _methods(tenant, user_key)
    body = ctx.body if isinstance(ctx.body, dict) else {}
    address = body.get("emailAddress")
    if not isinstance(address, str) or not is_email(address):
        raise bad_request("Property emailAddress must be a valid email address.")
    if "email" in methods:
        raise bad_request("An email method already exists for this user.")
    method = {"id": EMAIL_METHOD_ID, "emailAddress": address}
    methods["email"] = method
    tenant.state.dirty = True
    return Reply(201, {"@odata.context": f"{ctx.base_url}/$metadata#emailAuthenticationMethod", **method})


def list_methods(tenant: EmulatedTenant, ctx: RequestContext, user_key: str, kind: str) -> Reply:
    _, methods = _methods(tenant, user_key)
    value = [m for k, m in methods.items() if k.startswith(kind)]
    return Reply(200, {"value": value})
