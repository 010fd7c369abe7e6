"""Turns vendors' exported password hashes into PasswordHash fields with the canonical algorithm names.

Encodings follow shared/passwords (docs/jit.md): modular-crypt strings (bcrypt, argon2 PHC, phpass,
Django) are kept whole; PBKDF2/scrypt values and salts are base64. A hash we cannot name keeps the
vendor's label so the mapping rejects it as unsupported_hash_algorithm instead of guessing.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
from typing import Any


def from_crypt_string(value: str, *, unknown_label: str = "unknown") -> dict[str, Any]:
    """A self-describing hash string (`$2b$10$…`, `$argon2id$…`, `$P$…`, `pbkdf2_sha256$…`)."""
    if value.startswith(("$2a$", "$2b$", "$2y$")):
        return {"algorithm": "bcrypt", "value": value}
    if value.startswith(("$argon2id$", "$argon2i$", "$argon2d$")):
        return {"algorithm": "argon2", "value": value}
    if value.startswith(("$P$", "$H$")):
        return {"algorithm": "phpass", "value": value}
    if value.startswith("pbkdf2_sha256$"):
        return {"algorithm": "django-pbkdf2-sha256", "value": value}
    if value.startswith("$"):
        # e.g. $1$ (md5-crypt), $5$/$6$ (sha-crypt): name it by its prefix so the plan can count it.
        return {"algorithm": f"crypt-{value.split('$')[1][:16] or 'unknown'}", "value": value}
    return {"algorithm": unknown_label, "value": value}


def _unpadded_b64(value: str) -> str:
    return value.rstrip("=")


def from_keycloak(secret_data: str, credential_data: str) -> dict[str, Any] | None:
    """Keycloak's credential JSON strings (realm export `credentials[]` of type password)."""
    try:
        secret = json.loads(secret_data) if secret_data else {}
        cred = json.loads(credential_data) if credential_data else {}
    except (json.JSONDecodeError, RecursionError):
        return None
    if not isinstance(secret, dict) or not isinstance(cred, dict) or not secret.get("value"):
        return None
    algorithm = str(cred.get("algorithm") or "pbkdf2-sha256")
    value = str(secret["value"])
    salt = secret.get("salt")
    iterations = cred.get("hashIterations")
    extra = cred.get("additionalParameters") or {}
    if algorithm in ("pbkdf2", "pbkdf2-sha1", "pbkdf2-sha256", "pbkdf2-sha512"):
        name = "pbkdf2-sha1" if algorithm == "pbkdf2" else algorithm
        params: dict[str, Any] = {"iterations": int(iterations or 27500)}
        with contextlib.suppress(binascii.Error, ValueError):  # unknown length: the verifier uses the hash's
            params["keyLength"] = len(base64.b64decode(value))
        return {"algorithm": name, "value": value, "salt": salt, "params": params}
    if algorithm == "argon2":
        return {"algorithm": "argon2", "value": _argon2_phc(value, str(salt or ""), iterations, extra)}
    if algorithm == "bcrypt":
        if value.startswith("$2"):
            return {"algorithm": "bcrypt", "value": value}
        return {"algorithm": "bcrypt", "value": f"$2a${int(iterations or 10):02d}${value}"}
    return {"algorithm": algorithm, "value": value, "salt": salt}


def _first(extra: dict[str, Any], key: str, default: str) -> str:
    # Keycloak stores each additional parameter as a list of strings.
    value = extra.get(key, [default])
    return str(value[0] if isinstance(value, list) and value else value)


def _argon2_phc(value: str, salt: str, iterations: Any, extra: dict[str, Any]) -> str:
    variant = _first(extra, "type", "id")
    version = {"1.3": "19", "1.0": "16"}.get(_first(extra, "version", "1.3"), "19")
    memory = _first(extra, "memory", "7168")
    parallelism = _first(extra, "parallelism", "1")
    return (
        f"$argon2{variant}$v={version}$m={memory},t={int(iterations or 5)},p={parallelism}"
        f"${_unpadded_b64(salt)}${_unpadded_b64(value)}"
    )
