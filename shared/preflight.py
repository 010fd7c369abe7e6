"""Entra's documented constraints (docs/limits.md), checked before anything is sent to Graph.

Each check returns None when the value is acceptable, or a (Reason, message) pair. Messages name the
field and the rule, never the value (values can be personal data or secrets).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from shared.entra_limits import (
    MAX_EXTENSION_STRING,
    MAX_EXTENSION_VALUES_PER_USER,
    MAX_ISSUER,
    MAX_ISSUER_ASSIGNED_ID,
    USER_STRING_MAXIMA,
)
from shared.reasons import Reason, safe_key

Problem = tuple[Reason, str]

# Every number below is the emulator's too (one table: shared/entra_limits.py).
MAX_STRING_ATTRIBUTE = MAX_EXTENSION_STRING
MAX_EXTENSION_ATTRIBUTES = MAX_EXTENSION_VALUES_PER_USER
MAX_DISPLAY_NAME = USER_STRING_MAXIMA["displayName"]
PASSWORD_MIN, PASSWORD_MAX = 8, 256
INT32 = (-(2**31), 2**31 - 1)  # extensionproperty.md: Integer is a 32-bit value
INT64 = (-(2**63), 2**63 - 1)  # LargeInteger is a 64-bit value

# Pragmatic address check: one @, a dot-atom local part (no dot at its start or end, no two dots in a
# row), a dotted domain of LDH labels ending in a letters-only top-level label, no spaces. Entra
# rejects what this rejects (docs/limits.md, "Email addresses").
_EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_ATTRIBUTE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")


def check_email(value: str) -> Problem | None:
    if not _EMAIL.match(value):
        return Reason.INVALID_EMAIL, "email is not a valid address"
    if len(value) > MAX_ISSUER_ASSIGNED_ID:
        return Reason.IDENTITY_TOO_LONG, f"email is longer than {MAX_ISSUER_ASSIGNED_ID} characters"
    return None


def check_username(value: str) -> Problem | None:
    if not _USERNAME.match(value):
        return (
            Reason.INVALID_USERNAME,
            "username must start with a letter or digit and hold only letters, digits, - and _",
        )
    if len(value) > MAX_ISSUER_ASSIGNED_ID:
        return Reason.IDENTITY_TOO_LONG, f"username is longer than {MAX_ISSUER_ASSIGNED_ID} characters"
    return None


def check_federated(issuer: str, subject: str) -> Problem | None:
    if len(issuer) > MAX_ISSUER:
        return Reason.IDENTITY_TOO_LONG, f"identity provider is longer than {MAX_ISSUER} characters"
    if len(subject) > MAX_ISSUER_ASSIGNED_ID:
        return Reason.IDENTITY_TOO_LONG, f"federated subject is longer than {MAX_ISSUER_ASSIGNED_ID} characters"
    return None


def is_e164(value: str) -> bool:
    return bool(_E164.match(value))


def check_password(value: str) -> Problem | None:
    """Entra's password policy: 8–256 ASCII characters, at least 3 of lower, upper, digit, symbol."""
    if not value.isascii():
        return Reason.PASSWORD_NOT_ASCII, "password holds non-ASCII characters, which Entra does not accept"
    if not PASSWORD_MIN <= len(value) <= PASSWORD_MAX:
        return Reason.PASSWORD_TOO_WEAK, f"password must be {PASSWORD_MIN}-{PASSWORD_MAX} characters"
    classes = sum(
        (
            any(c.islower() for c in value),
            any(c.isupper() for c in value),
            any(c.isdigit() for c in value),
            any(not c.isalnum() for c in value),
        )
    )
    if classes < 3:
        return Reason.PASSWORD_TOO_WEAK, "password needs 3 of: lowercase, uppercase, digit, symbol"
    return None


_TABLE_ORDER = {name: n for n, name in enumerate(USER_STRING_MAXIMA)}


def check_user_properties(properties: Mapping[str, object]) -> Problem | None:
    """The first user property (POST /users body names) over its documented maximum, in table order."""
    maxima = USER_STRING_MAXIMA
    over = [n for n, value in properties.items() if isinstance(value, str) and len(value) > maxima.get(n, len(value))]
    if not over:
        return None
    name = min(over, key=_TABLE_ORDER.__getitem__)
    return Reason.PROPERTY_TOO_LONG, f"{name} is longer than {USER_STRING_MAXIMA[name]} characters"


def check_attribute(name: str, value: Any) -> Problem | None:
    if not _ATTRIBUTE_NAME.match(name):
        return Reason.ATTRIBUTE_INVALID, f"attribute {safe_key(name)!r} is not a valid extension property name"
    if isinstance(value, str) and len(value) > MAX_STRING_ATTRIBUTE:
        return (
            Reason.ATTRIBUTE_TOO_LONG,
            f"attribute {safe_key(name)!r} is longer than {MAX_STRING_ATTRIBUTE} characters",
        )
    if not isinstance(value, str | bool | int) or value is None:
        return Reason.ATTRIBUTE_INVALID, f"attribute {safe_key(name)!r} must be a string, boolean or integer"
    return None


def extension_data_type(value: Any) -> str:
    """The extensionProperty dataType that holds a value of this Python type (an int beyond 64 bits
    still says LargeInteger: `value_fits` refuses it)."""
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer" if INT32[0] <= value <= INT32[1] else "LargeInteger"
    return "String"


def value_fits(data_type: str, value: Any) -> bool:
    """Whether Graph stores this value in an extension property of this dataType (extensionproperty.md:
    Integer is 32-bit, LargeInteger 64-bit; String at most MAX_STRING_ATTRIBUTE characters)."""
    if data_type == "Boolean":
        return isinstance(value, bool)
    if data_type in ("Integer", "LargeInteger"):
        low, high = INT32 if data_type == "Integer" else INT64
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    if data_type == "String":
        return isinstance(value, str) and len(value) <= MAX_STRING_ATTRIBUTE
    return isinstance(value, str)  # DateTime/Binary values arrive as strings; the profile declares them


def check_attribute_type(name: str, value: Any, data_type: str) -> Problem | None:
    """A value that the attribute's extension property (of `data_type`) cannot hold."""
    if value_fits(data_type, value):
        return None
    if isinstance(value, int) and not isinstance(value, bool) and data_type in ("Integer", "LargeInteger"):
        bits = "32" if data_type == "Integer" else "64"
        message = f"attribute {safe_key(name)!r} is beyond the {bits}-bit range of {data_type}"
        return Reason.ATTRIBUTE_OUT_OF_RANGE, message
    return (
        Reason.ATTRIBUTE_TYPE_MISMATCH,
        f"attribute {safe_key(name)!r} holds a {_kind(value)} but its extension property is {data_type}",
    )


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    return "string" if isinstance(value, str) else type(value).__name__
