"""User payload rules as Entra documents them (graph docs user-post-users.md, resources/user.md,
resources/objectidentity.md, resources/passwordprofile.md; entra-docs password policies; the
numbers live in `shared/entra_limits.py`, which preflight reads too — see docs/limits.md).

Federated (social) identities: issuer and issuerAssignedId required, ≤ 512 / ≤ 64, the pair unique, and no
passwordProfile needed when every identity is federated (objectidentity.md; user-post-users.md "For a social
identity, none of the properties are required"); tests/emulator/test_federated_identities.py.

Each check raises `GraphError` (400) naming the property, so the import engine can classify the
record as rejected with a reason instead of retrying. Uniqueness is checked by `TenantState`.
"""

from __future__ import annotations

import re
from typing import Any

from emulator.errors import GraphError, bad_request, invalid_value
from shared.entra_limits import MAX_BUSINESS_PHONES, MAX_ISSUER, MAX_ISSUER_ASSIGNED_ID, USER_STRING_MAXIMA, too_long

# Properties a client may write on a user in this emulator; anything else is rejected like Graph
# does (an unknown property is a 400, not silently dropped).
WRITABLE_USER_PROPERTIES = frozenset(
    {
        "accountEnabled", "ageGroup", "businessPhones", "city", "companyName",
        "consentProvidedForMinor", "country", "department", "displayName", "employeeId",
        "employeeType", "faxNumber", "givenName", "identities", "jobTitle", "mail",
        "mailNickname", "mobilePhone", "officeLocation", "onPremisesImmutableId", "otherMails",
        "passwordPolicies", "passwordProfile", "postalCode", "preferredLanguage", "state",
        "streetAddress", "surname", "usageLocation", "userPrincipalName", "userType",
    }
)  # fmt: skip
STRING_LIST_PROPERTIES = frozenset({"businessPhones", "otherMails"})
BOOL_PROPERTIES = frozenset({"accountEnabled"})
PASSWORD_POLICY_VALUES = frozenset({"DisablePasswordExpiration", "DisableStrongPassword"})

# Pragmatic RFC 5322 subset: one @, no spaces, a dotted domain of LDH labels.
_EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_UPN_LOCAL = re.compile(r"^[A-Za-z0-9'.\-_!#^~]+$")
# Entra's allowed password characters: ASCII letters, digits, symbols and space (no Unicode).
_PASSWORD_SYMBOLS = set("@#$%^&*-_!+=[]{}|\\:',.?/`~\"();<> ")

MAX_UPN_LOCAL = 64
MAX_UPN_DOMAIN = 48
LOCAL_SIGN_IN_TYPES = ("emailaddress", "username")


def is_email(value: str) -> bool:
    return len(value) <= 254 and _EMAIL.match(value) is not None


def check_known_properties(body: dict[str, Any]) -> None:
    for key in body:
        if key.startswith("@odata.") or key.startswith("extension_"):
            continue
        if key not in WRITABLE_USER_PROPERTIES:
            raise bad_request(f"Property '{key}' does not exist as a declared property or extension property.")


def check_scalar_types(body: dict[str, Any]) -> None:
    for key, value in body.items():
        if value is None or key.startswith("@odata.") or key.startswith("extension_"):
            continue
        if key in BOOL_PROPERTIES:
            if not isinstance(value, bool):
                raise invalid_value(key)
        elif key in STRING_LIST_PROPERTIES:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise invalid_value(key)
        elif key not in ("identities", "passwordProfile") and not isinstance(value, str):
            raise invalid_value(key)
    check_lengths(body)


def check_lengths(body: dict[str, Any]) -> None:
    """The documented maxima of resources/user.md ("Maximum length is N characters")."""
    for key, value in body.items():
        limit = too_long(key, value)
        if limit is not None:
            raise bad_request(
                f"Invalid value specified for property '{key}' of resource 'User': at most {limit} characters."
            )
    phones = body.get("businessPhones")
    if isinstance(phones, list) and len(phones) > MAX_BUSINESS_PHONES:
        raise bad_request("Property 'businessPhones' can hold only one number.")


def check_display_name(value: Any) -> None:
    if not isinstance(value, str) or not value.strip() or len(value) > USER_STRING_MAXIMA["displayName"]:
        raise invalid_value("displayName")


def is_local_sign_in(sign_in_type: str) -> bool:
    return sign_in_type.lower().startswith(LOCAL_SIGN_IN_TYPES)


def normalize_identities(value: Any, tenant: str, *, allow_federated: bool) -> list[dict[str, str]]:
    """Checked copies of the identities, or a 400 naming the broken rule."""
    if not isinstance(value, list) or not value:
        raise invalid_value("identities")
    result: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for item in value:
        if not isinstance(item, dict):
            raise invalid_value("identities")
        sign_in_type = item.get("signInType")
        issuer = item.get("issuer")
        assigned = item.get("issuerAssignedId")
        if not all(isinstance(v, str) and v for v in (sign_in_type, issuer, assigned)):
            raise bad_request("Each identity needs signInType, issuer and issuerAssignedId.")
        assert isinstance(sign_in_type, str) and isinstance(issuer, str) and isinstance(assigned, str)
        if len(issuer) > MAX_ISSUER:
            raise bad_request(f"The issuer of an identity is limited to {MAX_ISSUER} characters.")
        if len(assigned) > MAX_ISSUER_ASSIGNED_ID:
            raise bad_request(f"The issuerAssignedId of an identity is limited to {MAX_ISSUER_ASSIGNED_ID} characters.")
        kind = sign_in_type.lower()
        if kind.startswith("emailaddress") and not is_email(assigned):
            raise bad_request("The issuerAssignedId of an emailAddress identity must be a valid email address.")
        if kind == "username" and not _USERNAME.match(assigned):
            raise bad_request(
                "The issuerAssignedId of a userName identity must start with a letter or digit and "
                "contain only letters, digits, '-' and '_'."
            )
        if kind == "federated":
            if not allow_federated:
                raise bad_request("Federated identities cannot be created in this tenant.")
        elif is_local_sign_in(kind) and issuer.lower() != tenant.lower():
            raise bad_request(f"The issuer of a local account identity must be the tenant domain '{tenant}'.")
        key = (issuer.casefold(), assigned.casefold())
        if key in seen:
            raise bad_request("The same identity appears twice in identities.")
        seen.add(key)
        result.append({"signInType": sign_in_type, "issuer": issuer, "issuerAssignedId": assigned})
    return result


def parse_password_policies(value: Any) -> set[str]:
    if value is None:
        return set()
    if not isinstance(value, str):
        raise invalid_value("passwordPolicies")
    policies = {p.strip() for p in value.split(",") if p.strip()}
    if not policies <= PASSWORD_POLICY_VALUES:
        raise invalid_value("passwordPolicies")
    return policies


def check_password(password: Any, *, strong: bool) -> None:
    """8–256 ASCII characters with 3 of 4 classes (entra-docs concept-sspr-policy)."""
    if not isinstance(password, str) or not password:
        raise invalid_value("passwordProfile")
    if not strong:
        if len(password) > 256:
            raise _password_complexity()
        return
    if not 8 <= len(password) <= 256:
        raise _password_complexity()
    classes = 0
    classes += any("a" <= c <= "z" for c in password)
    classes += any("A" <= c <= "Z" for c in password)
    classes += any("0" <= c <= "9" for c in password)
    classes += any(c in _PASSWORD_SYMBOLS for c in password)
    allowed = all(c.isascii() and (c.isalnum() or c in _PASSWORD_SYMBOLS) for c in password)
    if classes < 3 or not allowed:
        raise _password_complexity()


def _password_complexity() -> GraphError:
    return bad_request(
        "The specified password does not comply with password complexity requirements. "
        "Please provide a different password."
    )


def normalize_password_profile(value: Any, *, strong: bool) -> dict[str, Any]:
    """Validated profile without the password: the emulator never stores or persists it."""
    if not isinstance(value, dict):
        raise invalid_value("passwordProfile")
    check_password(value.get("password"), strong=strong)
    force = value.get("forceChangePasswordNextSignIn", False)
    if not isinstance(force, bool):
        raise invalid_value("passwordProfile")
    return {"forceChangePasswordNextSignIn": force, "password": None}


def check_upn(upn: Any, tenant: str) -> str:
    if not isinstance(upn, str):
        raise invalid_value("userPrincipalName")
    local, at, domain = upn.rpartition("@")
    if not at or not local or not _UPN_LOCAL.match(local) or len(local) > MAX_UPN_LOCAL:
        raise bad_request("Property userPrincipalName is invalid.")
    if len(domain) > MAX_UPN_DOMAIN:
        raise bad_request("Property userPrincipalName is invalid.")
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise bad_request("Property userPrincipalName is invalid.")
    if domain.lower() != tenant.lower():
        raise bad_request(
            "The domain portion of the userPrincipalName property is invalid. "
            "You must use one of the verified domain names in your organization."
        )
    return upn


def check_mail(value: Any) -> None:
    if value is not None and (not isinstance(value, str) or not is_email(value)):
        raise invalid_value("mail")
