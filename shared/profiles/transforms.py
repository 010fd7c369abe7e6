"""Value transforms a mapping profile may apply to a field: trim, lowercase, E.164, dates, booleans.

Each transform takes one value and returns the cleaned value, or raises TransformError with a message
that names the rule but never the value (values are personal data). `split_full_name` is separate
because it yields two fields.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import phonenumbers


class TransformError(ValueError):
    """A value the transform cannot convert. The message never holds the value."""


_TRUE = frozenset({"true", "1", "yes", "y", "t", "on"})
_FALSE = frozenset({"false", "0", "no", "n", "f", "off", ""})
_RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
# Epoch numbers above this are milliseconds (Firebase, Keycloak); below, seconds (Cognito, Unix).
_MILLIS_THRESHOLD = 10**11


def trim(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def lowercase(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def to_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise TransformError("is not a boolean (true/false, yes/no, 1/0)")


def to_datetime(value: Any) -> datetime | str:
    """ISO 8601 / RFC 3339 text, epoch seconds or milliseconds (number or digits), or {"$date": …}.

    A full RFC 3339 timestamp is returned as text: the record's validator parses it (in Rust, faster).
    """
    if isinstance(value, str) and _RFC3339.match(value):
        return value
    if isinstance(value, dict) and "$date" in value:  # MongoDB extended JSON (Auth0 hash export)
        value = value["$date"]
    if isinstance(value, bool):
        raise TransformError("is not a date")
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if isinstance(value, int | float):
        seconds = value / 1000 if abs(value) >= _MILLIS_THRESHOLD else value
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise TransformError("is an epoch number out of range") from None
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise TransformError("is not an ISO 8601 date") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise TransformError("is not a date")


def to_e164(value: Any, default_region: str | None) -> str:
    """A phone number in E.164; national numbers are read in `default_region` (ISO 3166 alpha-2)."""
    if isinstance(value, str) and _E164.match(value):
        return value  # already E.164: skip phonenumbers' parse, the slowest step of a plan
    if not isinstance(value, str | int):
        raise TransformError("is not a phone number")
    text = str(value).strip()
    if text.startswith("tel:"):
        text = text[4:]
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else default_region)
    except phonenumbers.NumberParseException:
        raise TransformError("is not a phone number (give a default_phone_region for national numbers)") from None
    if not phonenumbers.is_possible_number(number):
        raise TransformError("is not a possible phone number")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def split_full_name(full: str) -> tuple[str | None, str | None]:
    """'Ada Lovelace' → ('Ada', 'Lovelace'); 'Lovelace, Ada' → ('Ada', 'Lovelace'); 'Cher' → ('Cher', None)."""
    text = " ".join(full.split())
    if not text:
        return None, None
    if "," in text:
        last, _, first = text.partition(",")
        return (first.strip() or None), (last.strip() or None)
    first, _, rest = text.partition(" ")
    return first, (rest or None)


def is_valid_region(region: str) -> bool:
    return region.upper() in phonenumbers.SUPPORTED_REGIONS


Transform = Callable[[Any], Any]

# Names usable in a profile's [transforms] table. e164 is bound to the profile's region by the reader.
SIMPLE_TRANSFORMS: dict[str, Transform] = {
    "trim": trim,
    "lowercase": lowercase,
    "boolean": to_boolean,
    "date": to_datetime,
}
TRANSFORM_NAMES: frozenset[str] = frozenset({*SIMPLE_TRANSFORMS, "e164"})


def _e164_in(region: str | None, value: Any) -> str:
    return to_e164(value, region)


def build_chain(names: list[str], default_region: str | None) -> Transform:
    """One callable applying the named transforms in order."""
    steps: list[Transform] = []
    for name in names:
        if name == "e164":
            steps.append(functools.partial(_e164_in, default_region))
        else:
            steps.append(SIMPLE_TRANSFORMS[name])
    if len(steps) == 1:
        return steps[0]

    def chain(value: Any) -> Any:
        for step in steps:
            value = step(value)
        return value

    return chain
