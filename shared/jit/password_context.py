"""Decrypt Entra's `encryptedPasswordContext`: an RSA JWE whose payload is an unsigned JWT with claims
`user-password`, `username` and `nonce`.

Only the RSA-OAEP family and AES-GCM / AES-CBC-HMAC are accepted, read from the JWE header before decrypting;
compressed (`zip`) payloads are refused. Every failure raises ContextUnreadable with a short code and no detail.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.serialization import load_pem_private_key, pkcs12
from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey
from pydantic import SecretStr

from shared.config import JitSettings
from shared.jit.segments import json_segment

MAX_CONTEXT_CHARS = 32 * 1024


class ContextUnreadable(Exception):
    """The password context did not decrypt or lacks a claim: answer a generic failure."""


@dataclass(frozen=True)
class PasswordContext:
    password: SecretStr
    username: str | None
    nonce: str


def load_decryption_key(material: bytes) -> RSAKey:
    """A PEM private key (PKCS#1/PKCS#8), or base64 PKCS#12 as Key Vault returns a certificate's secret."""
    text = material.strip()
    if text.startswith(b"-----BEGIN"):
        private = load_pem_private_key(text, password=None)
    else:
        private_key, _, _ = pkcs12.load_key_and_certificates(base64.b64decode(text), password=None)
        if private_key is None:
            raise ValueError("the PKCS#12 bundle holds no private key")
        private = private_key
    return RSAKey.import_key(private)  # type: ignore[arg-type]  # joserfc accepts cryptography key objects


def _b64json(segment: str) -> dict[str, Any]:
    data = json_segment(segment)
    if data is None:
        raise ContextUnreadable("malformed")
    return data


class PasswordContextDecryptor:
    def __init__(self, key: RSAKey, settings: JitSettings) -> None:
        self._key = key
        self._algorithms = [*settings.JWE_ALGORITHMS, *settings.JWE_ENCRYPTIONS]
        self._alg = set(settings.JWE_ALGORITHMS)
        self._enc = set(settings.JWE_ENCRYPTIONS)

    def decrypt(self, compact: str) -> PasswordContext:
        if not compact or len(compact) > MAX_CONTEXT_CHARS or compact.count(".") != 4:
            raise ContextUnreadable("malformed")
        header = _b64json(compact.split(".", 1)[0])
        if header.get("alg") not in self._alg or header.get("enc") not in self._enc or "zip" in header:
            raise ContextUnreadable("algorithm")
        try:
            plaintext = jwe.decrypt_compact(compact, self._key, algorithms=self._algorithms).plaintext
        except (JoseError, ValueError, TypeError) as exc:
            raise ContextUnreadable("decrypt") from exc
        if plaintext is None:
            raise ContextUnreadable("decrypt")
        return _claims_to_context(_inner_claims(plaintext))


def _inner_claims(plaintext: bytes) -> dict[str, Any]:
    try:
        text = plaintext.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise ContextUnreadable("malformed") from exc
    if text.startswith("{"):  # tolerate a bare JSON claims set as well as the documented unsigned JWT
        try:
            claims = json.loads(text)
        except ValueError as exc:
            raise ContextUnreadable("malformed") from exc
        if not isinstance(claims, dict):
            raise ContextUnreadable("malformed")
        return claims
    parts = text.split(".")
    if len(parts) != 3:
        raise ContextUnreadable("malformed")
    header = _b64json(parts[0])
    # The inner token is unsigned by design (the JWE around it is what protects it); anything else is not Entra.
    if header.get("alg") != "none":
        raise ContextUnreadable("malformed")
    return _b64json(parts[1])


def _claims_to_context(claims: dict[str, Any]) -> PasswordContext:
    password, nonce, username = claims.get("user-password"), claims.get("nonce"), claims.get("username")
    if not isinstance(password, str) or not password:
        raise ContextUnreadable("missing_password")
    if not isinstance(nonce, str) or not nonce:
        raise ContextUnreadable("missing_nonce")
    return PasswordContext(SecretStr(password), username if isinstance(username, str) else None, nonce)
