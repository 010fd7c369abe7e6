"""SqliteCredentialVault: the CredentialVault port over one SQLite file, with envelope encryption.

Each credential is sealed with its own random AES-256-GCM data key (associated data = object id); the data
key is stored wrapped by the KEK (KeyWrapper). Nothing readable is stored: not the hash, salt, params, nor the
legacy id. `store_many` writes a batch in one transaction (local KEK: tens of thousands per second).
Deleting uses SQLite's secure_delete so freed pages are zeroed (R24). Idempotent: store upserts by object id.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr

from shared.ports import StoredCredential
from shared.records import PasswordHash
from shared.vault.wrappers import KeyUnwrapFailed, KeyWrapper, LocalKeyWrapper

NONCE_BYTES = 12
# Bulk stores wrap keys concurrently; a remote KEK (Key Vault) is throttled per vault, so stay modest.
_WRAP_CONCURRENCY = 16

_SCHEMA = """
CREATE TABLE IF NOT EXISTS credentials (
    object_id   TEXT PRIMARY KEY,
    kek_id      TEXT NOT NULL,
    wrapped_dek BLOB NOT NULL,
    sealed      BLOB NOT NULL
);
"""


@dataclass(frozen=True)
class Lookup:
    """A credential (or None) plus a hash to verify against when there is none, so both paths cost the same."""

    credential: StoredCredential | None
    timing_hash: PasswordHash | None


class SqliteCredentialVault:
    """Offline: `SqliteCredentialVault(state / "vault.db", LocalKeyWrapper.from_key_file(state / "keys" / "kek.key"))`
    (or `shared.vault.open_local_vault(state)`)."""

    def __init__(self, path: Path, wrapper: KeyWrapper) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._wrapper = wrapper
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA secure_delete=ON")
        self._db.executescript(_SCHEMA)

    # -- the CredentialVault port -------------------------------------------------------------------

    async def store(self, credential: StoredCredential) -> None:
        await self.store_many([credential])

    async def store_many(self, credentials: Sequence[StoredCredential]) -> None:
        """Upsert a batch in one transaction."""
        rows = await self._seal_all(credentials)
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO credentials (object_id, kek_id, wrapped_dek, sealed) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(object_id) DO UPDATE SET kek_id=excluded.kek_id, wrapped_dek=excluded.wrapped_dek, "
                "sealed=excluded.sealed",
                rows,
            )

    async def load(self, object_id: str) -> StoredCredential | None:
        row = self._row(object_id)
        return None if row is None else await self._open(object_id, row)

    async def delete(self, object_id: str) -> None:
        self._db.execute("DELETE FROM credentials WHERE object_id = ?", (object_id,))
        # Move WAL pages (which still hold the sealed row) into the main file, where secure_delete zeroes them.
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # -- for the JIT handler ------------------------------------------------------------------------

    async def lookup(self, object_id: str) -> Lookup:
        """Like load, but on a miss unwraps and opens another stored row instead, and offers its hash for a
        dummy verification: the unknown-user path then does the same key unwrap, decryption and hashing work
        as the wrong-password path. The hash is used only to spend time; the caller discards the result."""
        row = self._row(object_id)
        if row is not None:
            credential = await self._open(object_id, row)
            return Lookup(credential, credential.password_hash)
        decoy = self._db.execute("SELECT object_id, kek_id, wrapped_dek, sealed FROM credentials LIMIT 1").fetchone()
        if decoy is None:
            return Lookup(None, None)
        opened = await self._open(decoy[0], (decoy[1], decoy[2], decoy[3]))
        return Lookup(None, opened.password_hash)

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM credentials").fetchone()[0])

    def close(self) -> None:
        self._db.close()

    # -- sealing ------------------------------------------------------------------------------------

    def _row(self, object_id: str) -> tuple[str, bytes, bytes] | None:
        row = self._db.execute(
            "SELECT kek_id, wrapped_dek, sealed FROM credentials WHERE object_id = ?", (object_id,)
        ).fetchone()
        return None if row is None else (row[0], row[1], row[2])

    async def _seal_all(self, credentials: Sequence[StoredCredential]) -> list[tuple[str, str, bytes, bytes]]:
        deks = [AESGCM.generate_key(bit_length=256) for _ in credentials]
        wrapper = self._wrapper
        if isinstance(wrapper, LocalKeyWrapper):
            wrapped = [wrapper.wrap_now(dek, c.object_id) for dek, c in zip(deks, credentials, strict=True)]
        else:
            gate = asyncio.Semaphore(_WRAP_CONCURRENCY)

            async def wrap_one(dek: bytes, object_id: str) -> bytes:
                async with gate:
                    return await wrapper.wrap(dek, object_id)

            wrapped = await asyncio.gather(*(wrap_one(d, c.object_id) for d, c in zip(deks, credentials, strict=True)))
        kek_id = wrapper.kek_id
        return [(c.object_id, kek_id, w, _seal(dek, c)) for c, dek, w in zip(credentials, deks, wrapped, strict=True)]

    async def _open(self, object_id: str, row: tuple[str, bytes, bytes]) -> StoredCredential:
        kek_id, wrapped_dek, sealed = row
        dek = await self._wrapper.unwrap(wrapped_dek, object_id, kek_id)
        try:
            plain = AESGCM(dek).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], object_id.encode())
        except InvalidTag as exc:
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
