"""Legacy password hashes: the canonical algorithm names every source emits, and which we verify.

`PasswordHash.algorithm` is one of SUPPORTED_ALGORITHMS; anything else is refused at plan/import time
with Reason.UNSUPPORTED_HASH, never at sign-in. See docs/jit.md for each algorithm's value/salt/params.
"""

from __future__ import annotations

from shared.records import PasswordHash

SUPPORTED_ALGORITHMS: frozenset[str] = frozenset(
    {
        "bcrypt",
        "firebase-scrypt",
        "scrypt",
        "pbkdf2-sha1",
        "pbkdf2-sha256",
        "pbkdf2-sha512",
        "django-pbkdf2-sha256",
        "argon2",
        "md5",
        "sha1",
        "sha256",
        "sha512",
        "hmac-sha256",
        "hmac-sha512",
        "phpass",
    }
)


def is_supported(password_hash: PasswordHash) -> bool:
    return password_hash.algorithm in SUPPORTED_ALGORITHMS
