"""Reason codes: why a record was rejected (before any write) or failed (Graph said no).

Codes are stable, user-facing strings that appear in reports (`by_reason`), rejects.jsonl and
failures.jsonl. Messages beside them never hold a secret or an input value.
"""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import ValidationError

MAX_KEY_ECHO = 16
_SAFE_KEY_CHAR = re.compile(r"[A-Za-z0-9_.\-]")
_SAFE_KEY = re.compile(rf"[A-Za-z0-9_.\-]{{0,{MAX_KEY_ECHO}}}")  # a name shown whole
# Hash algorithm labels the readers emit for a hash they could not recognise (see shared/sources/hashes).
UNRECOGNISED_ALGORITHMS = frozenset({"unknown", "auth0-unknown", "firebase-unknown"})
_CRYPT_LABEL = re.compile(r"crypt-[A-Za-z0-9]{1,4}")  # a modular-crypt id such as $1$, $6$ (md5/sha-crypt)


class Reason(StrEnum):
    # Rejected while reading or mapping (nothing was sent to Graph).
    INVALID_JSON = "invalid_json"
    JSON_TOO_DEEP = "json_too_deep"
    DUPLICATE_KEY = "duplicate_key"
    INVALID_RECORD = "invalid_record"
    UNKNOWN_FIELD = "unknown_field"
    MISSING_FIELD = "missing_field"
    DUPLICATE_LEGACY_ID = "duplicate_legacy_id"
    DUPLICATE_IDENTITY = "duplicate_identity"
    INVALID_EMAIL = "invalid_email"
    INVALID_PHONE = "invalid_phone"
    INVALID_USERNAME = "invalid_username"
    NO_SIGN_IN_IDENTITY = "no_sign_in_identity"
    IDENTITY_TOO_LONG = "identity_too_long"
    PASSWORD_NOT_ASCII = "password_not_ascii"
    PASSWORD_TOO_WEAK = "password_too_weak"
    UNSUPPORTED_HASH = "unsupported_hash_algorithm"
    INVALID_PASSWORD_HASH = "invalid_password_hash"
    PROPERTY_TOO_LONG = "property_too_long"  # a user property over its documented maximum (entra_limits)
    ATTRIBUTE_TOO_LONG = "attribute_too_long"
    ATTRIBUTE_INVALID = "attribute_invalid"
    ATTRIBUTE_RESERVED = "attribute_reserved"
    ATTRIBUTE_TYPE_MISMATCH = "attribute_type_mismatch"
    ATTRIBUTE_OUT_OF_RANGE = "attribute_out_of_range"
    TOO_MANY_ATTRIBUTES = "too_many_attributes"
    FEDERATED_NOT_ENABLED = "federated_identity_not_enabled"
    TENANT_QUOTA = "tenant_object_quota"
    # Failed at Graph (after retries): the Graph error code is kept beside it.
    GRAPH_REJECTED = "graph_rejected"
    GRAPH_UNAVAILABLE = "graph_unavailable"
    CONFLICT_UNRESOLVED = "conflict_unresolved"
    # An MFA method that is not imported (the user is): see shared/auth_methods.py and docs/mfa.md.
    MFA_TOTP_NOT_IMPORTABLE = "mfa_totp_not_importable"  # External ID has no TOTP/authenticator import
    MFA_PHONE_INVALID = "mfa_phone_invalid"  # not E.164
    MFA_PHONE_LIMIT = "mfa_phone_limit"  # a third phone: Entra holds one mobile and one alternateMobile
    MFA_EMAIL_INVALID = "mfa_email_invalid"
    MFA_EMAIL_LIMIT = "mfa_email_limit"  # a second email: Entra holds one email method
    MFA_NO_MOBILE = "mfa_no_mobile"  # the alternateMobile's mobile failed: Entra wants the mobile first
    MFA_SLOT_TAKEN = "mfa_slot_taken"  # the tenant already holds a different number/address in that slot


def describe_validation_error(error: ValidationError) -> tuple[Reason, str]:
    """A reason code and a one-line message for a pydantic error, without echoing any input value."""
    problems = error.errors(include_input=False, include_url=False, include_context=False)
    kinds = {p["type"] for p in problems}
    if "extra_forbidden" in kinds:
        reason = Reason.UNKNOWN_FIELD
    elif "missing" in kinds:
        reason = Reason.MISSING_FIELD
    else:
        reason = Reason.INVALID_RECORD
    parts = []
    for p in problems[:5]:
        where = ".".join(safe_key(x) if isinstance(x, str) else str(x) for x in p["loc"]) or "record"
        parts.append(f"{where}: {p['msg']}")
    more = f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
    return reason, "; ".join(parts) + more


def safe_key(name: str) -> str:
    """A key name as a message may show it: whole when short and plain, else a short prefix and "…".

    A secret pasted where a key name belongs must not travel into rejects or the plan.
    """
    if _SAFE_KEY.fullmatch(name):
        return name
    return "".join(c if _SAFE_KEY_CHAR.match(c) else "?" for c in name[: MAX_KEY_ECHO // 2]) + "…"


def shown_algorithm(name: str) -> str:
    """A hash algorithm label as reports show it: a known name, or "(unrecognised)" — the field may hold
    a hash pasted in the wrong place, and password fields are never quoted."""
    from shared.passwords import SUPPORTED_ALGORITHMS  # shared.passwords reads records; keep reasons light

    if name in SUPPORTED_ALGORITHMS or name in UNRECOGNISED_ALGORITHMS or _CRYPT_LABEL.fullmatch(name):
        return name
    return "(unrecognised)"
