"""phpass portable hashes (WordPress `$P$`, phpBB `$H$`): iterated MD5 with a custom base64 alphabet."""

from __future__ import annotations

import hashlib

from shared.passwords.codec import same
from shared.passwords.errors import MalformedHash
from shared.records import PasswordHash

_ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def check(h: PasswordHash) -> None:
    value = h.value.get_secret_value()
    if len(value) != 34 or value[:3] not in ("$P$", "$H$") or not 7 <= _ITOA64.find(value[3]) <= 30:
        raise MalformedHash("phpass value must be a 34-character $P$/$H$ string")


def _encode64(data: bytes) -> str:
    # phpass packs 3 bytes into 4 characters, least significant bits first.
    out = []
    i = 0
    while i < len(data):
        value = data[i]
        i += 1
        out.append(_ITOA64[value & 0x3F])
        if i < len(data):
            value |= data[i] << 8
        out.append(_ITOA64[(value >> 6) & 0x3F])
        if i >= len(data):
            break
        i += 1
        if i < len(data):
            value |= data[i] << 16
        out.append(_ITOA64[(value >> 12) & 0x3F])
        if i >= len(data):
            break
        i += 1
        out.append(_ITOA64[(value >> 18) & 0x3F])
    return "".join(out)


def verify(password: bytes, h: PasswordHash) -> bool:
    check(h)
    value = h.value.get_secret_value()
    rounds = 1 << _ITOA64.index(value[3])
    salt = value[4:12].encode("ascii")
    digest = hashlib.md5(salt + password).digest()  # noqa: S324 - the legacy algorithm, verified not chosen
    for _ in range(rounds):
        digest = hashlib.md5(digest + password).digest()  # noqa: S324
    return same(_encode64(digest).encode("ascii"), value[12:].encode("ascii"))
