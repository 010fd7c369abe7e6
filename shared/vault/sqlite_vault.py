"""SqliteCredentialVault: the CredentialVault port over one SQLite file, with envelope encryption.

Each credential is sealed with its own random AES-256-GCM data key (associated data = object id); the data
key is stored wrapped by the KEK (KeyWrapper): shared.vault.envelope, which the Table vault shares. Nothing
readable is stored: not the hash, salt, params, nor the legacy id. `store_many` writes a batch in one
transaction (local KEK: tens of thousands per second).
Deleting uses SQLite's secure_delete so freed pages are zeroed (R24). Idempotent: store upserts by object id.
KEK rotation: `kek_counts` says which KEKs rows need; `rewrap` moves every row to the current KEK, each row
compare-and-set on its old wrapped key (a row re-stored meanwhile is already current), and can be re-run.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path

from shared.adapters.local.db import connect
from shared.ports import StoredCredential
from shared.vault.envelope import Lookup, Rewrap, Sealed, open_sealed, rewrapped, seal_all
from shared.vault.wrappers import KeyUnwrapFailed, KeyWrapper

__all__ = ["Lookup", "SqliteCredentialVault"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS credentials (
    object_id   TEXT PRIMARY KEY,
    kek_id      TEXT NOT NULL,
    wrapped_dek BLOB NOT NULL,
    sealed      BLOB NOT NULL
);
"""


class SqliteCredentialVault:
    """Offline: `SqliteCredentialVault(state / "vault.db", LocalKeyWrapper.from_key_file(state / "keys" / "kek.key"))`
    (or `shared.vault.open_local_vault(state)`)."""

    def __init__(self, path: Path, wrapper: KeyWrapper) -> None:
        self._wrapper = wrapper
        self._db = connect(path)  # WAL; a full or read-only disk raises StateUnavailable naming the file
        self._lock = threading.Lock()  # store_many writes from a worker thread: one transaction at a time
        self._db.execute("PRAGMA secure_delete=ON")
        self._db.executescript(_SCHEMA)

    # -- the CredentialVault port -------------------------------------------------------------------

    async def store(self, credential: StoredCredential) -> None:
        await self.store_many([credential])

    async def store_many(self, credentials: Sequence[StoredCredential]) -> None:
        """Upsert a batch in one transaction."""
        rows = [(s.object_id, s.kek_id, s.wrapped_dek, s.sealed) for s in await seal_all(self._wrapper, credentials)]
        await asyncio.to_thread(self._upsert, rows)  # an import's chunk: the loop keeps sending meanwhile

    def _upsert(self, rows: list[tuple[str, str, bytes, bytes]]) -> None:
        with self._lock, self._db:
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
        with self._lock:
            self._delete(object_id)

    def _delete(self, object_id: str) -> None:
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
        # A random row, so the dummy verifications are weighted like the vault's mix of algorithms.
        columns = "SELECT object_id, kek_id, wrapped_dek, sealed FROM credentials"
        decoy = (
            self._db.execute(
                f"{columns} WHERE rowid >= (SELECT abs(random()) % max(rowid) + 1 FROM credentials) LIMIT 1"
            ).fetchone()
            or self._db.execute(f"{columns} LIMIT 1").fetchone()
        )
        if decoy is None:
            return Lookup(None, None)
        opened = await self._open(decoy[0], (decoy[1], decoy[2], decoy[3]))
        return Lookup(None, opened.password_hash)

    def holds_many(self, object_ids: Sequence[str]) -> set[str]:
        """The ids among `object_ids` that have a stored credential (nothing is unsealed)."""
        held: set[str] = set()
        ids = list(object_ids)
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ",".join("?" * len(part))
            query = f"SELECT object_id FROM credentials WHERE object_id IN ({marks})"
            held.update(str(r[0]) for r in self._db.execute(query, part))
        return held

    def object_ids(self, after: str = "", limit: int = 1000) -> list[str]:
        """Stored object ids in order, `limit` at a time after `after` (for paging through the vault)."""
        rows = self._db.execute(
            "SELECT object_id FROM credentials WHERE object_id > ? ORDER BY object_id LIMIT ?", (after, limit)
        ).fetchall()
        return [str(r[0]) for r in rows]

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM credentials").fetchone()[0])

    # -- KEK rotation -------------------------------------------------------------------------------

    async def current_kek_id(self) -> str:
        return await self._wrapper.current_kek_id()

    def retired_kek_ids(self) -> list[str]:
        """The older KEKs this vault's wrapper holds (a local key ring); Key Vault's versions are not listed."""
        return list(getattr(self._wrapper, "retired_ids", []))

    async def kek_counts(self) -> dict[str, int]:
        """Rows per KEK id: a retired KEK with no rows left can be deleted."""
        rows = self._db.execute("SELECT kek_id, COUNT(*) FROM credentials GROUP BY kek_id").fetchall()
        return {str(kek): int(n) for kek, n in rows}

    async def rewrap(self, page: int = 500) -> Rewrap:
        """Wrap every row's data key with the current KEK (ciphertexts untouched). Idempotent; safe beside writers."""
        current = await self._wrapper.current_kek_id()
        report = Rewrap(current, already_current=int(self._db.execute(
            "SELECT COUNT(*) FROM credentials WHERE kek_id = ?", (current,)).fetchone()[0]))  # fmt: skip
        after = ""
        while True:
            rows = self._db.execute(
                "SELECT object_id, kek_id, wrapped_dek, sealed FROM credentials WHERE object_id > ? AND kek_id != ? "
                "ORDER BY object_id LIMIT ?",
                (after, current, page),
            ).fetchall()
            if not rows:
                return report
            moves: list[tuple[str, bytes, str, str, bytes]] = []  # new kek, new wrapped key; where: id, old kek, key
            for object_id, kek_id, wrapped_dek, sealed in rows:
                try:
                    moved = await rewrapped(self._wrapper, Sealed(object_id, kek_id, wrapped_dek, sealed))
                except KeyUnwrapFailed:
                    report.unopenable += 1
                    continue
                moves.append((moved.kek_id, moved.wrapped_dek, object_id, kek_id, wrapped_dek))
            with self._db:  # one transaction per page; each row only if unchanged since it was read
                for move in moves:
                    changed = self._db.execute(
                        "UPDATE credentials SET kek_id = ?, wrapped_dek = ? "
                        "WHERE object_id = ? AND kek_id = ? AND wrapped_dek = ?",
                        move,
                    ).rowcount
                    if changed:
                        report.rewrapped += 1
                    else:
                        report.changed_meanwhile += 1
            after = str(rows[-1][0])

    def close(self) -> None:
        self._db.close()

    # -- rows ---------------------------------------------------------------------------------------

    def _row(self, object_id: str) -> tuple[str, bytes, bytes] | None:
        row = self._db.execute(
            "SELECT kek_id, wrapped_dek, sealed FROM credentials WHERE object_id = ?", (object_id,)
        ).fetchone()
        return None if row is None else (row[0], row[1], row[2])

    async def _open(self, object_id: str, row: tuple[str, bytes, bytes]) -> StoredCredential:
        return await open_sealed(self._wrapper, Sealed(object_id, *row))
