"""Argon2i / Argon2id / Argon2d: value is the PHC string `$argon2id$v=19$m=…,t=…,p=…$salt$hash`."""

from __future__ import annotations

from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.low_level import Type, verify_secret

from shared.passwords.errors import MalformedHash
from shared.records import PasswordHash

_TYPES = {"$argon2id$": Type.ID, "$argon2i$": Type.I, "$argon2d$": Type.D}


def _type_of(h: PasswordHash) -> Type:
    value = h.value.get_secret_value()
    for prefix, kind in _TYPES.items():
        if value.startswith(prefix):
            return kind
    raise MalformedHash("argon2 value must be a PHC string starting $argon2id$, $argon2i$ or $argon2d$")


def check(h: PasswordHash) -> None:
    _type_of(h)


def verify(password: bytes, h: PasswordHash) -> bool:
    kind = _type_of(h)
    try:
        return verify_secret(h.value.get_secret_value().encode("ascii"), password, kind)
    except VerifyMismatchError:
        return False
    except (InvalidHashError, VerificationError, UnicodeEncodeError) as exc:
        raise MalformedHash("argon2 PHC string did not parse") from exc
