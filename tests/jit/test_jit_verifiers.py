"""Verifiers against published vectors, and vectors made by each algorithm's reference library."""

from __future__ import annotations

import base64
import hashlib
import hmac

import argon2
import bcrypt
import pytest
from pydantic import SecretStr

from shared.passwords import SUPPORTED_ALGORITHMS, MalformedHash, UnsupportedHash, is_supported, verify
from shared.records import PasswordHash


def h(algorithm: str, value: str, salt: str | None = None, **params: object) -> PasswordHash:
    return PasswordHash(
        algorithm=algorithm, value=SecretStr(value), salt=SecretStr(salt) if salt else None, params=params or None
    )


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# -- published vectors ----------------------------------------------------------------------------------

FIREBASE = h(  # github.com/firebase/scrypt README: sample project parameters and exported user1@test.com
    "firebase-scrypt",
    "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==",
    "42xEC+ixf3L2lw==",
    signerKey="jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
    saltSeparator="Bw==",
    rounds=8,
    memCost=14,
)

PUBLISHED = [
    ("firebase-scrypt", "user1password", FIREBASE),
    # OpenBSD / Openwall bcrypt test vector
    ("bcrypt $2a$", "U*U", h("bcrypt", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW")),
    # phpass (openwall) vectors as used by passlib's tests and WordPress
    ("phpass $P$", "test12345", h("phpass", "$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0")),
    ("phpass $H$", "test1", h("phpass", "$H$9aaaaaSXBjgypwqm.JsMssPLiS8YQ00")),
    ("phpass passlib doc", "password", h("phpass", "$P$8ohUJ.1sdFw09/bMaAQPTGDNi2BIUt1")),
    # Django's tests/auth_tests/test_hashers.py (Django 2.1: 120000 iterations)
    (
        "django",
        "lètmein",
        h("django-pbkdf2-sha256", "pbkdf2_sha256$120000$seasalt$fsgWMpOXin7ZAmi4j+7XjKCZ4JCvxJTGiwwDrawRqSc="),
    ),
    # RFC 6070 PBKDF2-HMAC-SHA1, c=4096
    (
        "rfc6070",
        "password",
        h("pbkdf2-sha1", b64(bytes.fromhex("4b007901b765489abead49d926f721d065a429c1")), b64(b"salt"), iterations=4096),
    ),
    # RFC 7914 section 12 scrypt vector 2
    (
        "rfc7914",
        "password",
        h(
            "scrypt",
            b64(
                bytes.fromhex(
                    "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"
                )
            ),
            b64(b"NaCl"),
            n=1024,
            r=8,
            p=16,
        ),
    ),
    # RFC 4231 test case 2 (key "Jefe")
    (
        "rfc4231 sha256",
        "what do ya want for nothing?",
        h("hmac-sha256", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", key=b64(b"Jefe")),
    ),
    (
        "rfc4231 sha512",
        "what do ya want for nothing?",
        h(
            "hmac-sha512",
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
            key=b64(b"Jefe"),
        ),
    ),
    # FIPS 180 / RFC 1321 "abc"
    ("md5 abc", "abc", h("md5", "900150983cd24fb0d6963f7d28e17f72")),
    ("sha1 abc", "abc", h("sha1", "a9993e364706816aba3e25717850c26c9cd0d89d")),
    ("sha256 abc", "abc", h("sha256", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")),
    (
        "sha512 abc",
        "abc",
        h(
            "sha512",
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        ),
    ),
]


@pytest.mark.parametrize(("name", "password", "stored"), PUBLISHED, ids=[p[0] for p in PUBLISHED])
def test_published_vectors_verify_and_reject_a_near_miss(name: str, password: str, stored: PasswordHash) -> None:
    assert is_supported(stored)
    assert verify(password, stored) is True
    assert verify(password + "x", stored) is False
    assert verify(password[:-1], stored) is False


# -- vectors from the reference libraries -------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["$2a$", "$2b$", "$2y$"])
def test_bcrypt_all_prefixes(prefix: str) -> None:
    made = bcrypt.hashpw(b"Tr0ub4dor&3", bcrypt.gensalt(4, prefix=b"2b")).decode()
    stored = h("bcrypt", prefix + made[4:])
    assert verify("Tr0ub4dor&3", stored) and not verify("Tr0ub4dor&4", stored)


def test_bcrypt_truncates_at_72_bytes_like_legacy_systems() -> None:
    long = "a" * 72
    stored = h("bcrypt", bcrypt.hashpw(long.encode(), bcrypt.gensalt(4)).decode())
    assert verify(long + "ignored-by-bcrypt", stored)


@pytest.mark.parametrize("kind", [argon2.Type.ID, argon2.Type.I])
def test_argon2_phc_strings(kind: argon2.Type) -> None:
    hasher = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1, type=kind)
    stored = h("argon2", hasher.hash("correct horse"))
    assert verify("correct horse", stored) and not verify("correct horsf", stored)


@pytest.mark.parametrize(("algorithm", "digest"), [("pbkdf2-sha256", "sha256"), ("pbkdf2-sha512", "sha512")])
def test_keycloak_pbkdf2(algorithm: str, digest: str) -> None:
    salt = b"\x01\x02keycloak-salt"
    derived = hashlib.pbkdf2_hmac(digest, b"kc-Passw0rd", salt, 27_500, 64)
    stored = h(algorithm, b64(derived), b64(salt), iterations=27_500)
    assert verify("kc-Passw0rd", stored) and not verify("kc-Passw0rD", stored)
    # Keycloak's 256-bit form with an explicit key length
    short = h(algorithm, b64(derived[:32]), b64(salt), iterations=27_500, keyLength=32)
    assert verify("kc-Passw0rd", short) and not verify("kc-Passw0rD", short)


def test_scrypt_from_hashlib() -> None:
    key = hashlib.scrypt(b"s3cret", salt=b"pepper", n=16384, r=8, p=1, dklen=32)
    stored = h("scrypt", b64(key), b64(b"pepper"), n=16384, r=8, p=1)
    assert verify("s3cret", stored) and not verify("s3creT", stored)


@pytest.mark.parametrize("algorithm", ["md5", "sha1", "sha256", "sha512"])
@pytest.mark.parametrize("position", ["prefix", "suffix"])
def test_salted_digests_both_orders(algorithm: str, position: str) -> None:
    message = b"NaCl" + b"pass" if position == "prefix" else b"pass" + b"NaCl"
    digest = hashlib.new(algorithm, message)
    stored = h(algorithm, digest.hexdigest(), "NaCl", saltPosition=position)
    assert verify("pass", stored)
    other = "suffix" if position == "prefix" else "prefix"
    assert not verify("pass", h(algorithm, digest.hexdigest(), "NaCl", saltPosition=other))
    assert verify("pass", h(algorithm, b64(digest.digest()), "NaCl", saltPosition=position, encoding="base64"))


def test_hmac_with_salt() -> None:
    mac = hmac.new(b"server-key", b"saltpass", "sha512").hexdigest()
    assert verify("pass", h("hmac-sha512", mac, "salt", key=b64(b"server-key"), saltPosition="prefix"))


# -- the contract source readers and preflight rely on ------------------------------------------------


def test_every_supported_algorithm_has_a_tested_vector() -> None:
    covered = {p[2].algorithm for p in PUBLISHED} | {"argon2", "pbkdf2-sha256", "pbkdf2-sha512"}
    assert covered >= SUPPORTED_ALGORITHMS


@pytest.mark.parametrize(
    "stored",
    [
        h("firebase-scrypt", "aGFzaA==", "c2FsdA==", rounds=8, memCost=14),  # no signer key / separator
        h("pbkdf2-sha256", "aGFzaA==", "c2FsdA=="),  # no iterations
        h("pbkdf2-sha256", "aGFzaA==", iterations=1000),  # no salt
        h("scrypt", "aGFzaA==", "c2FsdA==", n=1000, r=8, p=1),  # n not a power of two
        h("sha256", "00", "salt"),  # salted without a salt position
        h("hmac-sha256", "00"),  # no key
        h("bcrypt", "$1$not-bcrypt"),
        h("argon2", "$scrypt$whatever"),
        h("phpass", "$P$short"),
        h("django-pbkdf2-sha256", "pbkdf2_sha1$1$s$aGFzaA=="),
        h("crypt-des", "abcdefghijklm"),  # not an algorithm we verify
    ],
)
def test_is_supported_refuses_incomplete_hashes(stored: PasswordHash) -> None:
    assert not is_supported(stored)


def test_errors_never_quote_the_hash() -> None:
    canary = "CANARYHASHVALUE"
    with pytest.raises(UnsupportedHash) as unsupported:
        verify("pw", h("crypt-des", canary))
    with pytest.raises(MalformedHash) as malformed:
        verify("pw", h("pbkdf2-sha256", canary + "!!", "c2FsdA==", iterations=10))
    assert canary not in str(unsupported.value) and canary not in str(malformed.value)
