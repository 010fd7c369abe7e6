"""Small decoding helpers shared by the verifiers: lenient base64, hex, and constant-time equality.

Exported hashes come in standard or URL-safe base64, padded or not (Keycloak, Firebase, Django differ).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any

from shared.passwords.errors import MalformedHash


def b64decode(text: str) -> bytes:
    """Standard or URL-safe base64, padding optional."""
    cleaned = text.strip().replace("-", "+").replace("_", "/")
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedHash("not valid base64") from exc


def hexdecode(text: str) -> bytes:
    try:
        return bytes.fromhex(text.strip())
    except ValueError as exc:
        raise MalformedHash("not valid hex") from exc


def digest_bytes(text: str, encoding: str) -> bytes:
    """A stored digest in the encoding its params name ("hex", the default, or "base64")."""
    if encoding == "hex":
        return hexdecode(text)
    if encoding == "base64":
        return b64decode(text)
    raise MalformedHash("params.encoding must be 'hex' or 'base64'")


def same(a: bytes, b: bytes) -> bool:
    """Constant-time equality: a mismatch position must not show in the timing."""
    return hmac.compare_digest(a, b)


def int_param(params: dict[str, Any], name: str, *, low: int, high: int) -> int:
    """An integer cost parameter within sane bounds (an absurd cost would turn one sign-in into a DoS)."""
    value = params.get(name)
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise MalformedHash(f"params.{name} must be an integer in [{low}, {high}]")
    return value
