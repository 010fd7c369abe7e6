"""LongTailJournal: which user got which policy, and how far it went (<state>/longtail.db).

One row per object id: `planned` (about to be written to Entra), `applied` (Entra holds the policy and the
cleared flag), `purged` (the vault no longer holds the hash: done). A row is written before the step it
announces, so a crash leaves it at the last step begun; the next apply redoes that step (PATCH, adding an
email method already there, and deleting a purged hash are all idempotent) and goes on.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from shared.adapters.local.db import connect

_SCHEMA = """
CREATE TABLE IF NOT EXISTS longtail (
    object_id TEXT PRIMARY KEY,
    legacy_id TEXT,
    email TEXT,
    policy TEXT NOT NULL,
    state TEXT NOT NULL,
    detail TEXT,
    updated_at TEXT NOT NULL
);
"""
DONE = "purged"


@dataclass(frozen=True)
class JournalRow:
    object_id: str
    legacy_id: str | None
    email: str | None
    policy: str
    state: str
    detail: str | None


class LongTailJournal:
    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self._db: sqlite3.Connection = connect(path, read_only=read_only)
        if not read_only:
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def plan(self, rows: Sequence[tuple[str, str | None, str | None, str]]) -> None:
        """Announce (object id, legacy id, email, policy); a user already journalled keeps its row and policy."""
        now = datetime.now(UTC).isoformat()
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR IGNORE INTO longtail(object_id, legacy_id, email, policy, state, updated_at) "
                "VALUES (?,?,?,?,?,?)",
                [(oid, lid, email, policy, "planned", now) for oid, lid, email, policy in rows],
            )

    def mark(self, object_id: str, state: str, detail: str | None = None) -> None:
        self._db.execute(
            "UPDATE longtail SET state=?, detail=?, updated_at=? WHERE object_id=?",
            (state, detail, datetime.now(UTC).isoformat(), object_id),
        )

    def open_rows(self, after: str = "", limit: int = 500) -> list[JournalRow]:
        """Up to `limit` rows not yet done, after object id `after`, in object id order."""
        sql = ("SELECT object_id, legacy_id, email, policy, state, detail FROM longtail "
               "WHERE state != ? AND object_id > ? ORDER BY object_id LIMIT ?")
        return self._rows(sql, (DONE, after, limit))

    def open_count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM longtail WHERE state != ?", (DONE,)).fetchone()[0])

    def last_change(self) -> datetime | None:
        row = self._db.execute("SELECT MAX(updated_at) FROM longtail").fetchone()
        return datetime.fromisoformat(row[0]) if row and row[0] else None

    def policy_of(self, object_ids: Sequence[str]) -> dict[str, str]:
        """{object id: policy} for the users among `object_ids` the long tail reached (any state)."""
        found: dict[str, str] = {}
        ids = list(object_ids)
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ",".join("?" * len(part))
            query = f"SELECT object_id, policy FROM longtail WHERE object_id IN ({marks}) AND state != 'planned'"
            found.update({str(a): str(b) for a, b in self._db.execute(query, part)})
        return found

    def counts(self) -> dict[str, dict[str, int]]:
        """{policy: {state: users}}."""
        found: dict[str, dict[str, int]] = {}
        for policy, state, n in self._db.execute("SELECT policy, state, COUNT(*) FROM longtail GROUP BY 1, 2"):
            found.setdefault(str(policy), {})[str(state)] = int(n)
        return found

    def _rows(self, sql: str, args: tuple[object, ...]) -> list[JournalRow]:
        return [JournalRow(str(a), _text(b), _text(m), str(c), str(d), _text(e))
                for a, b, m, c, d, e in self._db.execute(sql, args)]  # fmt: skip


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
