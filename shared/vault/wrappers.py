"""Key-encryption keys (KEK) that wrap each credential's data key (DEK): a local key file, or Azure Key Vault.

`wrap(dek, context)` / `unwrap(wrapped, context, kek_id)`. `context` is the credential's object id: the local
wrapper binds it as AES-GCM associated data, so a wrapped key copied onto another row does not open. Key Vault's
RSA wrap has no associated data; there the sealed credential's own associated data (the object id) does that job.
Errors: KeyUnwrapFailed (wrong KEK, tampered row); it never holds key material.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Protocol

from azure.keyvault.keys.crypto import KeyWrapAlgorithm
from azure.keyvault.keys.crypto.aio import CryptographyClient

from shared.sealing import SealBroken, Sealer


class KeyUnwrapFailed(Exception):
    """A data key did not unwrap: wrong KEK, rotated key missing, or a tampered vault row."""


class KeyWrapper(Protocol):
    @property
    def kek_id(self) -> str:
        """Stable id of the KEK new wraps use (stored per row so rotation can find the old one)."""

    async def wrap(self, dek: bytes, context: str) -> bytes: ...
    async def unwrap(self, wrapped: bytes, context: str, kek_id: str) -> bytes: ...


class LocalKeyWrapper:
    """AES-256-GCM KEK from a key file (created 0600 on first use), reusing shared.sealing."""

    def __init__(self, key: bytes) -> None:
        self._sealer = Sealer(key)
        # Identifies the key without revealing it: a truncated hash of a hash.
        self._kek_id = "local:" + hashlib.sha256(hashlib.sha256(key).digest()).hexdigest()[:16]

    @classmethod
    def from_key_file(cls, path: Path) -> LocalKeyWrapper:
        Sealer.from_key_file(path)  # creates the file (0600) on first use, same format as the chunk key
        return cls(base64.b64decode(path.read_text(encoding="ascii").strip()))

    @property
    def kek_id(self) -> str:
        return self._kek_id

    def wrap_now(self, dek: bytes, context: str) -> bytes:
        """Synchronous wrap: the bulk store path calls this thousands of times per second."""
        return self._sealer.seal(dek, f"dek:{context}")

    async def wrap(self, dek: bytes, context: str) -> bytes:
        return self.wrap_now(dek, context)

    async def unwrap(self, wrapped: bytes, context: str, kek_id: str) -> bytes:
        if kek_id != self._kek_id:
            raise KeyUnwrapFailed("credential was wrapped by another key-encryption key")
        try:
            return self._sealer.open(wrapped, f"dek:{context}")
        except SealBroken as exc:
            raise KeyUnwrapFailed("data key did not unwrap") from exc


class KeyVaultKeyWrapper:
    """An RSA key in Azure Key Vault (wrapKey/unwrapKey permissions; the private key never leaves the vault)."""

    def __init__(self, client: CryptographyClient, algorithm: KeyWrapAlgorithm = KeyWrapAlgorithm.rsa_oaep_256):
        self._client = client
        self._algorithm = algorithm

    @property
    def kek_id(self) -> str:
        return str(self._client.key_id)

    async def wrap(self, dek: bytes, context: str) -> bytes:
        result = await self._client.wrap_key(self._algorithm, dek)
        return bytes(result.encrypted_key)

    async def unwrap(self, wrapped: bytes, context: str, kek_id: str) -> bytes:
        try:
            result = await self._client.unwrap_key(self._algorithm, wrapped)
        except Exception as exc:  # the SDK raises HttpResponseError subclasses; their text holds no key material
            raise KeyUnwrapFailed(f"Key Vault unwrap failed ({type(exc).__name__})") from exc
        return bytes(result.key)
