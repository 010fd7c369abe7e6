"""Envelope encryption shared by every credential vault backend (SQLite file, Azure Table).

Each credential is sealed with its own random AES-256-GCM data key (associated data = object id); the data key
is stored wrapped by the KEK (KeyWrapper). A sealed credential is (kek_id, wrapped_dek, sealed) and nothing else:
not the hash, salt, params, nor the legacy id. Backends only decide where those three values live.
KEK rotation (`rewrapped`): the data key is unwrapped with the row's KEK and wrapped again with the current one;
`sealed` is not touched, so a rewrap never decrypts or rewrites a credential.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr

from shared.ports import StoredCredential
from shared.records import PasswordHash
from shared.vault.wrappers import KeyUnwrapFailed, KeyWrapper, LocalKeyWrapper, WrappedKey

NONCE_BYTES = 12
# Bulk stores wrap keys concurrently; a remote KEK (Key Vault) is throttled per vault, so stay modest.
WRAP_CONCURRENCY = 16


@dataclass(frozen=True)
class Lookup:
    """A credential (or None) plus a hash to verify against when there is none, so both paths cost the same."""

    credential: StoredCredential | None
    timing_hash: PasswordHash | None


@dataclass(frozen=True)
class Sealed:
    """One credential as stored: which KEK wrapped its data key, the wrapped key, and nonce + ciphertext."""

    object_id: str
    kek_id: str
    wrapped_dek: bytes
    sealed: bytes


async def seal_all(wrapper: KeyWrapper, credentials: Sequence[StoredCredential]) -> list[Sealed]:
    """Seal each credential under a fresh data key; wrap the keys (concurrently, for a remote KEK)."""
    deks = [AESGCM.generate_key(bit_length=256) for _ in credentials]
    if isinstance(wrapper, LocalKeyWrapper):
        wrapped = [wrapper.wrap_now(dek, c.object_id) for dek, c in zip(deks, credentials, strict=True)]
    else:
        gate = asyncio.Semaphore(WRAP_CONCURRENCY)

        async def wrap_one(dek: bytes, object_id: str) -> WrappedKey:
            async with gate:
                return await wrapper.wrap(dek, object_id)

        wrapped = await asyncio.gather(*(wrap_one(d, c.object_id) for d, c in zip(deks, credentials, strict=True)))
    return [
        Sealed(c.object_id, w.kek_id, w.wrapped, _seal(dek, c))
        for c, dek, w in zip(credentials, deks, wrapped, strict=True)
    ]


async def rewrapped(wrapper: KeyWrapper, sealed: Sealed) -> Sealed:
    """The same credential with its data key wrapped by the current KEK; the ciphertext is left as it is."""
    dek = await wrapper.unwrap(sealed.wrapped_dek, sealed.object_id, sealed.kek_id)
    again = await wrapper.wrap(dek, sealed.object_id)
    return Sealed(sealed.object_id, again.kek_id, again.wrapped, sealed.sealed)


@dataclass
class Rewrap:
    """What `rewrap` did: rows moved to the current KEK, rows already under it, rows changed or deleted meanwhile
    (a concurrent store seals under the current KEK anyway), and rows that would not unwrap (kept as they are)."""

    current_kek_id: str
    rewrapped: int = 0
    already_current: int = 0
    changed_meanwhile: int = 0
    unopenable: int = 0


async def open_sealed(wrapper: KeyWrapper, sealed: Sealed) -> StoredCredential:
    """Unwrap the data key and open the credential. KeyUnwrapFailed: wrong KEK, tampered or moved row."""
    object_id = sealed.object_id
    dek = await wrapper.unwrap(sealed.wrapped_dek, object_id, sealed.kek_id)
    box = sealed.sealed
    try:
        plain = AESGCM(dek).decrypt(box[:NONCE_BYTES], box[NONCE_BYTES:], object_id.encode())
    except (InvalidTag, ValueError) as exc:
        raise KeyUnwrapFailed("credential did not open (tampered or moved row)") from exc
    return _credential_from(object_id, json.loads(plain))


def _seal(dek: bytes, credential: StoredCredential) -> bytes:
    h = credential.password_hash
    payload: dict[str, Any] = {
        "source": credential.source,
        "legacyId": credential.legacy_id,
        "disabled": credential.disabled,
        "hash": {
            "algorithm": h.algorithm,
            "value": h.value.get_secret_value(),
            "salt": h.salt.get_secret_value() if h.salt is not None else None,
            "params": h.params,
        },
    }
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(dek).encrypt(nonce, json.dumps(payload).encode(), credential.object_id.encode())


def _credential_from(object_id: str, payload: dict[str, Any]) -> StoredCredential:
    h = payload["hash"]
    return StoredCredential(
        object_id=object_id,
        source=payload["source"],
        legacy_id=payload["legacyId"],
        disabled=payload["disabled"],
        password_hash=PasswordHash(
            algorithm=h["algorithm"],
            value=SecretStr(h["value"]),
            salt=SecretStr(h["salt"]) if h["salt"] is not None else None,
            params=h["params"],
        ),
    )
