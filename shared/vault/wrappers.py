"""Key-encryption keys (KEK) that wrap each credential's data key (DEK): a local key ring, or Azure Key Vault.

`wrap(dek, context) -> WrappedKey(kek_id, wrapped)` always uses the current KEK and says which one it was;
`unwrap(wrapped, context, kek_id)` opens with the KEK the row names, current or older, so a rotated KEK still
opens rows sealed before the rotation (until `ciam-migrate vault rewrap` moves them; docs/jit.md "Rotating the
vault's KEK"). `context` is the credential's object id: the local wrapper binds it as AES-GCM associated data,
so a wrapped key copied onto another row does not open. Key Vault's RSA wrap has no associated data; there the
sealed credential's own associated data (the object id) does that job.
Errors: KeyUnwrapFailed (unknown or retired-and-deleted KEK, tampered row); it never holds key material.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from azure.keyvault.keys import KeyVaultKeyIdentifier
from azure.keyvault.keys.crypto import KeyWrapAlgorithm
from azure.keyvault.keys.crypto.aio import CryptographyClient

from shared.sealing import SealBroken, Sealer

RETIRED_DIR = "kek-retired"  # beside kek.key: the KEKs it replaced, one <kek id>.key each


class KeyUnwrapFailed(Exception):
    """A data key did not unwrap: wrong KEK, rotated key missing, or a tampered vault row."""


@dataclass(frozen=True)
class WrappedKey:
    kek_id: str  # the KEK that wrapped it (a Key Vault *versioned* key id, or `local:<hash>`)
    wrapped: bytes


class KeyWrapper(Protocol):
    @property
    def kek_id(self) -> str:
        """Id of the KEK new wraps use, as far as known before wrapping (stored per row by `wrap`)."""

    async def current_kek_id(self) -> str:
        """Id of the KEK new wraps use, asked of the key store if need be (Key Vault: an unversioned key id)."""

    async def wrap(self, dek: bytes, context: str) -> WrappedKey: ...
    async def unwrap(self, wrapped: bytes, context: str, kek_id: str) -> bytes: ...


def local_kek_id(key: bytes) -> str:
    """Identifies a local key without revealing it: a truncated hash of a hash."""
    return "local:" + hashlib.sha256(hashlib.sha256(key).digest()).hexdigest()[:16]


class LocalKeyWrapper:
    """AES-256-GCM KEK ring: the current key wraps, it and every retired key unwrap (reusing shared.sealing)."""

    def __init__(self, key: bytes, retired: Iterable[bytes] = (), *, key_file: Path | None = None) -> None:
        self._key_file = key_file
        self._use(key, retired)

    @classmethod
    def from_key_file(cls, path: Path) -> LocalKeyWrapper:
        """The key in `path` (created 0600 on first use) and the retired keys in `<dir>/kek-retired/*.key`.

        A row under a KEK the ring lacks makes it read the files again once: a process started before
        `vault rotate` (`jit serve`, a run) then opens rows rewrapped under the new key, and wraps with it."""
        Sealer.from_key_file(path)  # creates the file (0600) on first use, same format as the chunk key
        return cls(*_key_files(path), key_file=path)

    def _use(self, key: bytes, retired: Iterable[bytes]) -> None:
        self._sealer = Sealer(key)
        self._kek_id = local_kek_id(key)
        self._ring = {local_kek_id(k): Sealer(k) for k in retired}
        self._ring[self._kek_id] = self._sealer

    @property
    def kek_id(self) -> str:
        return self._kek_id

    @property
    def retired_ids(self) -> list[str]:
        return sorted(k for k in self._ring if k != self._kek_id)

    async def current_kek_id(self) -> str:
        return self._kek_id

    def wrap_now(self, dek: bytes, context: str) -> WrappedKey:
        """Synchronous wrap: the bulk store path calls this thousands of times per second."""
        return WrappedKey(self._kek_id, self._sealer.seal(dek, f"dek:{context}"))

    async def wrap(self, dek: bytes, context: str) -> WrappedKey:
        return self.wrap_now(dek, context)

    async def unwrap(self, wrapped: bytes, context: str, kek_id: str) -> bytes:
        sealer = self._ring.get(kek_id)
        if sealer is None and self._key_file is not None:
            self._use(*_key_files(self._key_file))  # rotated by another process since this one started
            sealer = self._ring.get(kek_id)
        if sealer is None:
            raise KeyUnwrapFailed("credential was wrapped by a key-encryption key this vault does not hold")
        try:
            return sealer.open(wrapped, f"dek:{context}")
        except SealBroken as exc:
            raise KeyUnwrapFailed("data key did not unwrap") from exc


def _key_files(path: Path) -> tuple[bytes, list[bytes]]:
    return read_key(path), [read_key(p) for p in sorted((path.parent / RETIRED_DIR).glob("*.key"))]


def read_key(path: Path) -> bytes:
    return base64.b64decode(path.read_text(encoding="ascii").strip(), validate=True)


def rotate_key_file(path: Path) -> tuple[str, str]:
    """Retire the key in `path` (copied to kek-retired/ first) and write a new one in its place: (old, new) ids.

    Crash-safe in this order: a crash before the rename leaves the old key current (and also retired, which is
    harmless); after it, rows sealed under the old key still open from the ring until they are rewrapped."""
    Sealer.from_key_file(path)
    old = read_key(path)
    retired = path.parent / RETIRED_DIR / f"{local_kek_id(old).removeprefix('local:')}.key"
    retired.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not retired.exists():
        _write_key(retired, old)
    new = secrets.token_bytes(32)
    staged = path.with_name(path.name + ".new")
    staged.unlink(missing_ok=True)
    _write_key(staged, new)
    os.replace(staged, path)
    return local_kek_id(old), local_kek_id(new)


def retired_key_file(path: Path, kek_id: str) -> Path:
    """Where `rotate_key_file` keeps the retired key `kek_id` (delete it once no row uses it)."""
    return path.parent / RETIRED_DIR / f"{kek_id.removeprefix('local:')}.key"


def _write_key(path: Path, key: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(base64.b64encode(key))
        f.flush()
        os.fsync(f.fileno())


class KeyVaultKeyWrapper:
    """An RSA key in Azure Key Vault (wrapKey/unwrapKey; the private key never leaves the vault).

    New wraps use `client` (the configured key id: a versioned id, or unversioned = the key's newest version);
    each row stores the versioned id that wrapped it, and a row under another version of the *same* key is
    unwrapped with a client for that version (`client_for`). A row naming any other vault or key is refused.
    """

    def __init__(
        self,
        client: CryptographyClient,
        algorithm: KeyWrapAlgorithm = KeyWrapAlgorithm.rsa_oaep_256,
        *,
        client_for: Callable[[str], CryptographyClient] | None = None,
    ) -> None:
        self._client = client
        self._algorithm = algorithm
        self._client_for = client_for
        self._key = KeyVaultKeyIdentifier(str(client.key_id))
        self._versions: dict[str, CryptographyClient] = {}
        self._current: str | None = str(client.key_id) if self._key.version else None

    @classmethod
    def from_key_id(cls, key_id: str, credential: Any) -> KeyVaultKeyWrapper:
        return cls(CryptographyClient(key_id, credential), client_for=lambda kid: CryptographyClient(kid, credential))

    @property
    def kek_id(self) -> str:
        return self._current or str(self._client.key_id)

    async def current_kek_id(self) -> str:
        if self._current is None:
            await self.wrap(secrets.token_bytes(32), "probe")  # learns which version the unversioned id wraps with
        return self.kek_id

    async def wrap(self, dek: bytes, context: str) -> WrappedKey:
        result = await self._client.wrap_key(self._algorithm, dek)
        kek_id = str(result.key_id or self._client.key_id)
        if not self._key.version:
            self._current = kek_id
        return WrappedKey(kek_id, bytes(result.encrypted_key))

    async def unwrap(self, wrapped: bytes, context: str, kek_id: str) -> bytes:
        client = self._client_of(kek_id)
        try:
            result = await client.unwrap_key(self._algorithm, wrapped)
        except Exception as exc:  # the SDK raises HttpResponseError subclasses; their text holds no key material
            raise KeyUnwrapFailed(f"Key Vault unwrap failed ({type(exc).__name__})") from exc
        return bytes(result.key)

    async def close(self) -> None:
        for client in {id(c): c for c in [self._client, *self._versions.values()]}.values():
            await client.close()

    def _client_of(self, kek_id: str) -> CryptographyClient:
        if kek_id == str(self._client.key_id) and self._key.version:
            return self._client
        try:
            row_key = KeyVaultKeyIdentifier(kek_id)
        except ValueError:
            raise KeyUnwrapFailed("credential names no Key Vault key") from None
        same_key = (row_key.vault_url.rstrip("/"), row_key.name) == (self._key.vault_url.rstrip("/"), self._key.name)
        if not same_key or not row_key.version:
            raise KeyUnwrapFailed(f"credential was wrapped by a key other than {self._key.name} in this vault")
        if self._client_for is None:
            if kek_id == self._current:
                return self._client
            raise KeyUnwrapFailed("credential was wrapped by another version of the key and no client can reach it")
        if kek_id not in self._versions:
            self._versions[kek_id] = self._client_for(kek_id)
        return self._versions[kek_id]
