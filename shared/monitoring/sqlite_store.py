"""SqliteMonitorStore: the MonitorStore of the local host (state/monitor.db, WAL), safe for one process's
threads and for processes sharing the file (a claim is one IMMEDIATE transaction).
Metric points are stored with their dimensions as sorted JSON so the evaluator can group on them."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from shared.messages import AlertRaised
from shared.monitoring.store import MetricPoint, SignInClaim

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cursors (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS seen_sign_ins (id TEXT PRIMARY KEY, created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS seen_created ON seen_sign_ins (created);
CREATE TABLE IF NOT EXISTS points (name TEXT NOT NULL, at REAL NOT NULL, value REAL NOT NULL, dims TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS points_name_at ON points (name, at);
CREATE TABLE IF NOT EXISTS users_seen (user_id TEXT PRIMARY KEY, succeeded INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS notifications (
    key TEXT NOT NULL, window TEXT NOT NULL, rule TEXT NOT NULL, severity INTEGER NOT NULL, summary TEXT NOT NULL,
    value REAL NOT NULL, threshold REAL NOT NULL, raised_at REAL NOT NULL, delivered INTEGER NOT NULL,
    PRIMARY KEY (key, window)
);
"""


class SqliteMonitorStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    async def get_cursor(self, name: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM cursors WHERE name = ?", (name,)).fetchone()
        return str(row[0]) if row else None

    async def put_cursor(self, name: str, value: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO cursors VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value=excluded.value", (name, value)
            )

    async def unseen(self, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        with self._lock:
            for start in range(0, len(ids), 500):
                chunk = list(ids[start : start + 500])
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(f"SELECT id FROM seen_sign_ins WHERE id IN ({marks})", chunk).fetchall()
                found.update(str(r[0]) for r in rows)
        return set(ids) - found

    async def claim_sign_ins(self, claims: Sequence[SignInClaim], points: Sequence[MetricPoint] = ()) -> set[str]:
        claimed: set[str] = set()
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            for claim in claims:
                seen = claim.sign_in
                inserted = self._db.execute(
                    "INSERT OR IGNORE INTO seen_sign_ins VALUES (?, ?)", (seen.id, seen.created.timestamp())
                ).rowcount
                if inserted:
                    claimed.add(seen.id)
                    self._db.executemany("INSERT INTO points VALUES (?, ?, ?, ?)", _rows(claim.points))
            self._db.executemany("INSERT INTO points VALUES (?, ?, ?, ?)", _rows(points))
        return claimed

    async def forget_sign_ins_before(self, created: datetime) -> None:
        with self._lock:
            self._db.execute("DELETE FROM seen_sign_ins WHERE created < ?", (created.timestamp(),))

    async def add_points(self, points: Sequence[MetricPoint]) -> None:
        self.write_now(points)

    def write_now(self, points: Sequence[MetricPoint]) -> None:
        with self._lock, self._db:
            self._db.executemany("INSERT INTO points VALUES (?, ?, ?, ?)", _rows(points))

    async def points(self, name: str, since: datetime, until: datetime) -> list[MetricPoint]:
        with self._lock:
            rows = self._db.execute(
                "SELECT name, at, value, dims FROM points WHERE name = ? AND at >= ? AND at < ? ORDER BY at",
                (name, since.timestamp(), until.timestamp()),
            ).fetchall()
        return [MetricPoint(r[0], datetime.fromtimestamp(r[1], UTC), r[2], json.loads(r[3])) for r in rows]

    async def note_users(self, attempted: Sequence[str], succeeded: Sequence[str]) -> tuple[int, int]:
        with self._lock, self._db:
            self._db.executemany("INSERT OR IGNORE INTO users_seen (user_id) VALUES (?)", [(u,) for u in attempted])
            self._db.executemany(
                "INSERT INTO users_seen (user_id, succeeded) VALUES (?, 1) "
                "ON CONFLICT(user_id) DO UPDATE SET succeeded = 1",
                [(u,) for u in succeeded],
            )
            row = self._db.execute("SELECT COUNT(*), COALESCE(SUM(succeeded), 0) FROM users_seen").fetchone()
        return int(row[0]), int(row[1])

    async def notification_sent(self, key: str, window: str) -> bool:
        with self._lock:
            row = self._db.execute("SELECT 1 FROM notifications WHERE key = ? AND window = ?", (key, window)).fetchone()
        return row is not None

    async def record_alert(self, alert: AlertRaised, *, delivered: bool) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO notifications VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (alert.key, alert.window, alert.rule, alert.severity, alert.summary, alert.value, alert.threshold,
                 alert.raised_at.timestamp(), int(delivered)),
            )  # fmt: skip

    def alerts(self) -> list[AlertRaised]:
        """Every alert notified, oldest first (watch, report)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT key, window, rule, severity, summary, value, threshold, raised_at FROM notifications "
                "ORDER BY raised_at"
            ).fetchall()
        return [AlertRaised(key=r[0], window=r[1], rule=r[2], severity=r[3], summary=r[4], value=r[5],
                            threshold=r[6], raised_at=datetime.fromtimestamp(r[7], UTC)) for r in rows]  # fmt: skip


def _rows(points: Sequence[MetricPoint]) -> list[tuple[str, float, float, str]]:
    return [(p.name, p.at.timestamp(), p.value, json.dumps(p.dimensions, sort_keys=True)) for p in points]
