"""QuotaStore over the local state's SQLite database: processes sharing a state directory share the quota.

Each draw is one `BEGIN IMMEDIATE` transaction (SQLite's write lock), so two processes can never both
take the same tokens. A row holds the pacing bucket and the grant log (quota_lease.py), the log as TEXT.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from shared.adapters.graph.quota_lease import BucketRow, BucketTerms, blocked, decode_grants, draw, encode_grants
from shared.adapters.local.db import connect

_SCHEMA = """
CREATE TABLE IF NOT EXISTS quota_buckets (
    key TEXT PRIMARY KEY, tokens REAL NOT NULL, updated REAL NOT NULL, blocked_until REAL NOT NULL,
    grants TEXT NOT NULL DEFAULT ''
)
"""


class SqliteQuotaStore:
    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self._conn = connect(path)
        self._conn.execute(_SCHEMA)
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(quota_buckets)").fetchall()}
        if "grants" not in columns:  # a state directory from before the grant log
            self._conn.execute("ALTER TABLE quota_buckets ADD COLUMN grants TEXT NOT NULL DEFAULT ''")
        self._clock = clock
        self._thread_lock = threading.Lock()

    def close(self) -> None:
        self._conn.close()

    async def draw(self, key: str, terms: BucketTerms, need: int, want: int, step: int = 1) -> tuple[int, float, float]:
        return await asyncio.to_thread(self._draw, key, terms, need, want, step)

    async def block(self, key: str, terms: BucketTerms, seconds: float) -> None:
        await asyncio.to_thread(self._block, key, terms, seconds)

    def _draw(self, key: str, terms: BucketTerms, need: int, want: int, step: int) -> tuple[int, float, float]:
        with self._transaction():
            now = self._clock()
            row, granted, wait = draw(self._read(key), terms, need, want, now, step)
            if granted:
                self._write(key, row)
            return granted, wait, now

    def _block(self, key: str, terms: BucketTerms, seconds: float) -> None:
        with self._transaction():
            self._write(key, blocked(self._read(key), terms, seconds, self._clock()))

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._thread_lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _read(self, key: str) -> BucketRow | None:
        found = self._conn.execute(
            "SELECT tokens, updated, blocked_until, grants FROM quota_buckets WHERE key = ?", (key,)
        ).fetchone()
        if found is None:
            return None
        return BucketRow(float(found[0]), float(found[1]), float(found[2]), decode_grants(found[3]))

    def _write(self, key: str, row: BucketRow) -> None:
        self._conn.execute(
            "INSERT INTO quota_buckets (key, tokens, updated, blocked_until, grants) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET tokens = excluded.tokens, updated = excluded.updated, "
            "blocked_until = excluded.blocked_until, grants = excluded.grants",
            (key, row.tokens, row.updated, row.blocked_until, encode_grants(row.grants)),
        )
