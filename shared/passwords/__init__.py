"""Legacy password hashes: the canonical algorithm names every source emits, and their verifiers.

`PasswordHash.algorithm` is one of SUPPORTED_ALGORITHMS; anything else is refused at plan/import time
with Reason.UNSUPPORTED_HASH, never at sign-in (`is_supported` also checks the required params are there).
`verify(password, hash)` is CPU-bound (tens of ms for real costs): call it off the event loop.
Each algorithm's value/salt/params encoding is the table in docs/jit.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from shared.passwords import argon2_family, bcrypt_family, digest_family, pbkdf2_family, phpass_family, scrypt_family
from shared.passwords.errors import MalformedHash, UnsupportedHash
from shared.records import PasswordHash

__all__ = ["SUPPORTED_ALGORITHMS", "MalformedHash", "UnsupportedHash", "is_supported", "verify"]


@dataclass(frozen=True)
class _Family:
    verify: Callable[[bytes, PasswordHash], bool]
    check: Callable[[PasswordHash], None]


_FAMILIES: dict[str, _Family] = {
    "bcrypt": _Family(bcrypt_family.verify, bcrypt_family.check),
    "firebase-scrypt": _Family(scrypt_family.verify_firebase, scrypt_family.check_firebase),
    "scrypt": _Family(scrypt_family.verify, scrypt_family.check),
    "pbkdf2-sha1": _Family(pbkdf2_family.verify_sha1, pbkdf2_family.check),
    "pbkdf2-sha256": _Family(pbkdf2_family.verify_sha256, pbkdf2_family.check),
    "pbkdf2-sha512": _Family(pbkdf2_family.verify_sha512, pbkdf2_family.check),
    "django-pbkdf2-sha256": _Family(pbkdf2_family.verify_django, pbkdf2_family.check_django),
    "argon2": _Family(argon2_family.verify, argon2_family.check),
    "md5": _Family(digest_family.digest_verifier("md5"), digest_family.check),
    "sha1": _Family(digest_family.digest_verifier("sha1"), digest_family.check),
    "sha256": _Family(digest_family.digest_verifier("sha256"), digest_family.check),
    "sha512": _Family(digest_family.digest_verifier("sha512"), digest_family.check),
    "hmac-sha256": _Family(digest_family.hmac_verifier("sha256"), digest_family.check_hmac),
    "hmac-sha512": _Family(digest_family.hmac_verifier("sha512"), digest_family.check_hmac),
    "phpass": _Family(phpass_family.verify, phpass_family.check),
}

SUPPORTED_ALGORITHMS: frozenset[str] = frozenset(_FAMILIES)


def is_supported(password_hash: PasswordHash) -> bool:
    """Known algorithm and the value/salt/params it needs are present and well-formed (cheap: no hashing)."""
    family = _FAMILIES.get(password_hash.algorithm)
    if family is None:
        return False
    try:
        family.check(password_hash)
    except MalformedHash:
        return False
    return True


def verify(password: str, password_hash: PasswordHash) -> bool:
    """True when `password` matches. Comparisons are constant-time.

    Raises UnsupportedHash for an unknown algorithm and MalformedHash for a hash that does not parse; neither
    message holds the password or any part of the hash.
    """
    family = _FAMILIES.get(password_hash.algorithm)
    if family is None:
        raise UnsupportedHash(f"no verifier for algorithm {password_hash.algorithm!r}")
    return family.verify(password.encode("utf-8"), password_hash)
