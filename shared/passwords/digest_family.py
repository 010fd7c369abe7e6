"""Salted plain digests (md5, sha1, sha256, sha512) and keyed HMAC-SHA256/512.

value = hex digest (or params.encoding "base64"); salt = text, joined to the password as params.saltPosition
"prefix" (salt + password) or "suffix" (password + salt) — required whenever a salt is present, because a
wrong guess makes every sign-in fail silently. HMAC: params.key = base64 key; message = the salted password.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from shared.passwords.codec import b64decode, digest_bytes, same
from shared.passwords.errors import MalformedHash
from shared.records import PasswordHash


def check(h: PasswordHash) -> None:
    params = h.params or {}
    if h.salt is not None and params.get("saltPosition") not in ("prefix", "suffix"):
        raise MalformedHash("a salted digest needs params.saltPosition 'prefix' or 'suffix'")
    if params.get("encoding", "hex") not in ("hex", "base64"):
        raise MalformedHash("params.encoding must be 'hex' or 'base64'")


def check_hmac(h: PasswordHash) -> None:
    check(h)
    if not isinstance((h.params or {}).get("key"), str):
        raise MalformedHash("hmac needs params.key (base64)")


def _message(password: bytes, h: PasswordHash) -> bytes:
    if h.salt is None:
        return password
    salt = h.salt.get_secret_value().encode("utf-8")
    return salt + password if (h.params or {})["saltPosition"] == "prefix" else password + salt


def _expected(h: PasswordHash) -> bytes:
    return digest_bytes(h.value.get_secret_value(), (h.params or {}).get("encoding", "hex"))


def digest_verifier(name: str) -> Callable[[bytes, PasswordHash], bool]:
    def verify(password: bytes, h: PasswordHash) -> bool:
        check(h)
        return same(hashlib.new(name, _message(password, h)).digest(), _expected(h))

    return verify


def hmac_verifier(name: str) -> Callable[[bytes, PasswordHash], bool]:
    def verify(password: bytes, h: PasswordHash) -> bool:
        check_hmac(h)
        key = b64decode((h.params or {})["key"])
        return same(hmac.new(key, _message(password, h), name).digest(), _expected(h))

    return verify
