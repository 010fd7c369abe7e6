"""JitStateStore: the endpoint's own SQLite state — per-account failures and lockout, Entra-retry dedupe,
and the outcome log that cutover monitoring reads (`outcomes`: time, correlation id, object id, action,
reason, latency). No password, hash, token or username is stored; the retry fingerprint is an HMAC under a
secret key, kept only for RETRY_WINDOW_S.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (
    correlation_id TEXT NOT NULL,
    fingerprint    BLOB NOT NULL,
    object_id      TEXT NOT NULL,
    action         TEXT,
    reason         TEXT,
    created_at     REAL NOT NULL,
    PRIMARY KEY (correlation_id, fingerprint)
);
CREATE TABLE IF NOT EXISTS failures (
    object_id    TEXT PRIMARY KEY,
    count        INTEGER NOT NULL,
    window_start REAL NOT NULL,
    locked_until REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS outcomes (
    id             INTEGER PRIMARY KEY,
    at             REAL NOT NULL,
    correlation_id TEXT,
    object_id      TEXT,
    action         TEXT NOT NULL,
    reason         TEXT NOT NULL,
    latency_ms     REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_created ON attempts (created_at);
"""


@dataclass(frozen=True)
class PriorAttempt:
    """An attempt with the same correlation id and password seen before; action None = still being decided."""

    action: str | None
    reason: str | None


@dataclass(frozen=True)
class Outcome:
    at: float
    correlation_id: str | None
    object_id: str | None
    action: str
    reason: str
    latency_ms: float


class JitStateStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    # -- Entra retries: same correlationId and same password = the same attempt -------------------------

    def claim(
        self, correlation_id: str, fingerprint: bytes, object_id: str, now: float, *, window_s: float | None = None
    ) -> PriorAttempt | None:
        """Register a new attempt; None when it is new, else what the earlier delivery decided. A row older than
        `window_s` is forgotten first (whether or not purge ran), so its retry window is honoured on read."""
        if window_s is not None:
            self._db.execute(
                "DELETE FROM attempts WHERE correlation_id = ? AND fingerprint = ? AND created_at < ?",
                (correlation_id, fingerprint, now - window_s),
            )
        inserted = self._db.execute(
            "INSERT OR IGNORE INTO attempts (correlation_id, fingerprint, object_id, created_at) VALUES (?, ?, ?, ?)",
            (correlation_id, fingerprint, object_id, now),
        ).rowcount
        if inserted:
            return None
        row = self._db.execute(
            "SELECT action, reason FROM attempts WHERE correlation_id = ? AND fingerprint = ?",
            (correlation_id, fingerprint),
        ).fetchone()
        return PriorAttempt(row[0], row[1]) if row else None

    def settle(self, correlation_id: str, fingerprint: bytes, action: str, reason: str) -> None:
        self._db.execute(
            "UPDATE attempts SET action = ?, reason = ? WHERE correlation_id = ? AND fingerprint = ?",
            (action, reason, correlation_id, fingerprint),
        )

    def release(self, correlation_id: str, fingerprint: bytes) -> None:
        """Forget an attempt that was not decided (throttled), so its retry is a fresh attempt."""
        self._db.execute(
            "DELETE FROM attempts WHERE correlation_id = ? AND fingerprint = ? AND action IS NULL",
            (correlation_id, fingerprint),
        )

    def purge(self, older_than: float) -> None:
        self._db.execute("DELETE FROM attempts WHERE created_at < ?", (older_than,))

    # -- lockout ------------------------------------------------------------------------------------

    def locked(self, object_id: str, now: float) -> bool:
        row = self._db.execute("SELECT locked_until FROM failures WHERE object_id = ?", (object_id,)).fetchone()
        return bool(row and row[0] > now)

    def record_failure(self, object_id: str, now: float, *, threshold: int, window_s: float, lock_s: float) -> int:
        """Count one failure in the sliding window; lock the account once `threshold` is reached."""
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            row = self._db.execute(
                "SELECT count, window_start FROM failures WHERE object_id = ?", (object_id,)
            ).fetchone()
            count, start = (1, now) if row is None or now - row[1] > window_s else (row[0] + 1, row[1])
            locked_until = now + lock_s if count >= threshold else 0.0
            self._db.execute(
                "INSERT INTO failures (object_id, count, window_start, locked_until) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(object_id) DO UPDATE SET count=excluded.count, window_start=excluded.window_start, "
                "locked_until=excluded.locked_until",
                (object_id, count, start, locked_until),
            )
        return count

    def clear_failures(self, object_id: str) -> None:
        self._db.execute("DELETE FROM failures WHERE object_id = ?", (object_id,))

    # -- outcomes -----------------------------------------------------------------------------------

    def record_outcome(self, outcome: Outcome) -> None:
        self._db.execute(
            "INSERT INTO outcomes (at, correlation_id, object_id, action, reason, latency_ms) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (outcome.at, outcome.correlation_id, outcome.object_id, outcome.action, outcome.reason, outcome.latency_ms),
        )

    def outcomes(self, since: float | None = None) -> list[Outcome]:
        """Every outcome recorded (at or after `since`, when given), oldest first."""
        rows = self._db.execute(
            "SELECT at, correlation_id, object_id, action, reason, latency_ms FROM outcomes WHERE at >= ? "
            "ORDER BY at, id",
            (since if since is not None else float("-inf"),),
        ).fetchall()
        return [Outcome(*row) for row in rows]

    def close(self) -> None:
        self._db.close()
