"""PBKDF2-HMAC-SHA1/256/512 (Keycloak secretData/credentialData) and Django's `pbkdf2_sha256$iter$salt$hash`.

Keycloak form: value = base64 derived key, salt = base64, params {iterations, keyLength?}; keyLength
(bytes) defaults to the decoded value's length, so 256- and 512-bit Keycloak configurations both work.
"""

from __future__ import annotations

import hashlib

from shared.passwords.codec import b64decode, int_param, same
from shared.passwords.errors import MalformedHash
from shared.records import PasswordHash

MAX_ITERATIONS = 10_000_000


def check(h: PasswordHash) -> None:
    if h.salt is None:
        raise MalformedHash("pbkdf2 needs a salt")
    int_param(h.params or {}, "iterations", low=1, high=MAX_ITERATIONS)


def verify_sha1(password: bytes, h: PasswordHash) -> bool:
    return _verify("sha1", password, h)


def verify_sha256(password: bytes, h: PasswordHash) -> bool:
    return _verify("sha256", password, h)


def verify_sha512(password: bytes, h: PasswordHash) -> bool:
    return _verify("sha512", password, h)


def _verify(digest: str, password: bytes, h: PasswordHash) -> bool:
    check(h)
    salt = b64decode(h.salt.get_secret_value()) if h.salt is not None else b""
    params = h.params or {}
    iterations = int_param(params, "iterations", low=1, high=MAX_ITERATIONS)
    expected = b64decode(h.value.get_secret_value())
    length = int_param(params, "keyLength", low=1, high=512) if "keyLength" in params else len(expected)
    derived = hashlib.pbkdf2_hmac(digest, password, salt, iterations, length)
    return same(derived, expected)


def check_django(h: PasswordHash) -> None:
    _parse_django(h.value.get_secret_value())


def _parse_django(value: str) -> tuple[int, bytes, bytes]:
    parts = value.split("$")
    if len(parts) != 4 or parts[0] != "pbkdf2_sha256" or not parts[1].isdigit():
        raise MalformedHash("django value must be pbkdf2_sha256$<iterations>$<salt>$<base64 hash>")
    iterations = int(parts[1])
    if not 1 <= iterations <= MAX_ITERATIONS:
        raise MalformedHash("django iteration count out of range")
    # Django's salt is used as text, not decoded.
    return iterations, parts[2].encode("utf-8"), b64decode(parts[3])


def verify_django(password: bytes, h: PasswordHash) -> bool:
    iterations, salt, expected = _parse_django(h.value.get_secret_value())
    return same(hashlib.pbkdf2_hmac("sha256", password, salt, iterations, len(expected)), expected)
