"""bcrypt: value is the full modular-crypt string `$2a$`/`$2b$`/`$2y$` + cost + salt + hash (Auth0, PHP, Rails)."""

from __future__ import annotations

import bcrypt

from shared.passwords.errors import MalformedHash
from shared.records import PasswordHash

_PREFIXES = ("$2a$", "$2b$", "$2y$")
# bcrypt only ever reads the first 72 bytes; legacy systems truncated silently, bcrypt>=5 raises instead.
_MAX_BYTES = 72


def check(h: PasswordHash) -> None:
    value = h.value.get_secret_value()
    if not value.startswith(_PREFIXES) or len(value) != 60:
        raise MalformedHash("bcrypt value must be a 60-character $2a$/$2b$/$2y$ string")


def verify(password: bytes, h: PasswordHash) -> bool:
    check(h)
    value = h.value.get_secret_value()
    if value.startswith("$2y$"):  # PHP's name for the same algorithm as $2b$
        value = "$2b$" + value[4:]
    try:
        return bcrypt.checkpw(password[:_MAX_BYTES], value.encode("ascii"))
    except ValueError as exc:
        raise MalformedHash("bcrypt value did not parse") from exc
