"""Standard scrypt and Firebase Auth's modified scrypt.

scrypt: value = base64 key, salt = base64, params {n, r, p, keyLength?}.
firebase-scrypt: value = base64 hash, salt = base64 per-user salt, params {signerKey (base64), saltSeparator
(base64), rounds, memCost} from the project's "password hash parameters". Firebase derives a 32-byte key with
scrypt(password, salt + saltSeparator, N=2^memCost, r=rounds, p=1) and AES-256-CTR-encrypts the signer key
under it with a zero counter block; the ciphertext is the stored hash (github.com/firebase/scrypt README).
"""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from shared.passwords.codec import b64decode, int_param, same
from shared.passwords.errors import MalformedHash
from shared.records import PasswordHash

_MB = 1024 * 1024


def _scrypt(password: bytes, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    # hashlib refuses above `maxmem`; allow exactly what these parameters need (bounded by int_param).
    return hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, dklen=length, maxmem=128 * r * (n + p + 2) + _MB)


def check(h: PasswordHash) -> None:
    if h.salt is None:
        raise MalformedHash("scrypt needs a salt")
    params = h.params or {}
    n = int_param(params, "n", low=2, high=1 << 20)
    if n & (n - 1):
        raise MalformedHash("params.n must be a power of two")
    int_param(params, "r", low=1, high=32)
    int_param(params, "p", low=1, high=16)


def verify(password: bytes, h: PasswordHash) -> bool:
    check(h)
    assert h.salt is not None
    params = h.params or {}
    expected = b64decode(h.value.get_secret_value())
    length = int_param(params, "keyLength", low=1, high=512) if "keyLength" in params else len(expected)
    derived = _scrypt(
        password,
        b64decode(h.salt.get_secret_value()),
        int_param(params, "n", low=2, high=1 << 20),
        int_param(params, "r", low=1, high=32),
        int_param(params, "p", low=1, high=16),
        length,
    )
    return same(derived, expected)


def check_firebase(h: PasswordHash) -> None:
    if h.salt is None:
        raise MalformedHash("firebase-scrypt needs a salt")
    params = h.params or {}
    for name in ("signerKey", "saltSeparator"):
        if not isinstance(params.get(name), str):
            raise MalformedHash(f"firebase-scrypt needs params.{name} (base64)")
    int_param(params, "rounds", low=1, high=32)
    int_param(params, "memCost", low=1, high=20)


def verify_firebase(password: bytes, h: PasswordHash) -> bool:
    check_firebase(h)
    assert h.salt is not None
    params = h.params or {}
    salt = b64decode(h.salt.get_secret_value()) + b64decode(params["saltSeparator"])
    n = 1 << int_param(params, "memCost", low=1, high=20)
    key = _scrypt(password, salt, n, int_param(params, "rounds", low=1, high=32), 1, 32)
    encryptor = Cipher(algorithms.AES(key), modes.CTR(b"\x00" * 16)).encryptor()
    derived = encryptor.update(b64decode(params["signerKey"])) + encryptor.finalize()
    return same(derived, b64decode(h.value.get_secret_value()))
