"""SqliteSyncStore: the sync store in `<state>/sync.db` (WAL), beside the ledger's migration.db.

Every write is one statement or one transaction, so a crash leaves the previous or the next state, never half.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from pathlib import Path

from shared.adapters.local.db import connect
from shared.sync.model import Conflict, CursorState, Fingerprint
from shared.sync.store import DropRecord

_SCHEMA = """
CREATE TABLE IF NOT EXISTS fingerprints (
    source TEXT NOT NULL, legacy_id TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (source, legacy_id)
);
CREATE TABLE IF NOT EXISTS conflicts (
    key TEXT PRIMARY KEY, source TEXT NOT NULL, at TEXT NOT NULL, data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cursors (source TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS poll_leases (source TEXT PRIMARY KEY, holder TEXT NOT NULL, until TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters (
    source TEXT NOT NULL, name TEXT NOT NULL, value INTEGER NOT NULL, PRIMARY KEY (source, name)
);
CREATE TABLE IF NOT EXISTS drop_records (
    source TEXT NOT NULL, legacy_id TEXT NOT NULL, seq INTEGER NOT NULL, op TEXT NOT NULL, sealed BLOB NOT NULL,
    PRIMARY KEY (source, legacy_id)
);
"""
_BATCH = 500
SYNC_DB = "sync.db"  # beside migration.db in the state directory


def poll_holder() -> str:
    """A poll lease holder id that names this process, so a successor on this machine can tell it died."""
    return f"{os.getpid()}@{socket.gethostname()}:{uuid.uuid4().hex[:8]}"


def _holder_died(holder: str) -> bool:
    """True for a holder on this machine whose process is gone (killed): its lease needn't run out."""
    pid, at, rest = holder.partition("@")
    if not at or not pid.isdigit() or rest.split(":", 1)[0] != socket.gethostname():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def conflict_key(conflict: Conflict) -> str:
    raw = json.dumps(
        [conflict.source, conflict.legacy_id, conflict.field, conflict.legacy_value, conflict.entra_value],
        sort_keys=True, default=str,
    )  # fmt: skip
    return hashlib.sha256(raw.encode()).hexdigest()


class SqliteSyncStore:
    def __init__(self, path: Path) -> None:
        self._conn = connect(path)
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        self._conn.close()

    # -- fingerprints ------------------------------------------------------------------------------
    async def get_fingerprints(self, source: str, legacy_ids: Sequence[str]) -> dict[str, Fingerprint]:
        found: dict[str, Fingerprint] = {}
        ids = list(legacy_ids)
        for start in range(0, len(ids), _BATCH):
            part = ids[start : start + _BATCH]
            rows = self._conn.execute(
                f"SELECT data FROM fingerprints WHERE source=? AND legacy_id IN ({','.join('?' * len(part))})",
                (source, *part),
            ).fetchall()
            for (data,) in rows:
                fp = Fingerprint.model_validate_json(data)
                found[fp.legacy_id] = fp
        return found

    async def put_fingerprint(self, fingerprint: Fingerprint) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO fingerprints(source, legacy_id, data) VALUES (?,?,?)",
            (fingerprint.source, fingerprint.legacy_id, fingerprint.model_dump_json()),
        )

    async def put_fingerprints(self, fingerprints: Sequence[Fingerprint]) -> None:
        rows = [(fp.source, fp.legacy_id, fp.model_dump_json()) for fp in fingerprints]
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.executemany("INSERT OR REPLACE INTO fingerprints(source, legacy_id, data) VALUES (?,?,?)", rows)
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    async def forget_fingerprints(self, source: str, legacy_ids: Sequence[str]) -> None:
        ids = list(dict.fromkeys(legacy_ids))
        for start in range(0, len(ids), _BATCH):
            part = ids[start : start + _BATCH]
            self._conn.execute(
                f"DELETE FROM fingerprints WHERE source=? AND legacy_id IN ({','.join('?' * len(part))})",
                (source, *part),
            )

    async def fingerprints(self, source: str) -> AsyncIterator[Fingerprint]:
        cursor = self._conn.execute("SELECT data FROM fingerprints WHERE source=? ORDER BY legacy_id", (source,))
        while rows := cursor.fetchmany(1000):
            for (data,) in rows:
                yield Fingerprint.model_validate_json(data)

    # -- conflicts ---------------------------------------------------------------------------------
    async def record_conflict(self, conflict: Conflict) -> bool:
        cur = self._conn.execute(
            "INSERT OR IGNORE INTO conflicts(key, source, at, data) VALUES (?,?,?,?)",
            (conflict_key(conflict), conflict.source, conflict.at.isoformat(), conflict.model_dump_json()),
        )
        return cur.rowcount == 1

    async def conflicts(self, source: str | None = None) -> list[Conflict]:
        if source is None:
            rows = self._conn.execute("SELECT data FROM conflicts ORDER BY at").fetchall()
        else:
            rows = self._conn.execute("SELECT data FROM conflicts WHERE source=? ORDER BY at", (source,)).fetchall()
        return [Conflict.model_validate_json(r[0]) for r in rows]

    # -- cursors and the poll lease ----------------------------------------------------------------
    async def get_cursor(self, source: str) -> CursorState | None:
        row = self._conn.execute("SELECT data FROM cursors WHERE source=?", (source,)).fetchone()
        return None if row is None else CursorState.model_validate_json(row[0])

    async def put_cursor(self, state: CursorState) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO cursors(source, data) VALUES (?,?)", (state.source, state.model_dump_json())
        )

    async def sources(self) -> list[str]:
        return [r[0] for r in self._conn.execute("SELECT source FROM cursors ORDER BY source").fetchall()]

    async def begin_poll(self, source: str, holder: str, now: datetime, lease_until: datetime) -> bool:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            row = self._conn.execute("SELECT holder, until FROM poll_leases WHERE source=?", (source,)).fetchone()
            held = row is not None and row[0] != holder and datetime.fromisoformat(row[1]) > now
            if held and not _holder_died(str(row[0])):
                self._conn.execute("ROLLBACK")
                return False
            self._conn.execute(
                "INSERT OR REPLACE INTO poll_leases(source, holder, until) VALUES (?,?,?)",
                (source, holder, lease_until.isoformat()),
            )
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")
        return True

    async def live_poll_holder(self, source: str, now: datetime) -> str | None:
        """The holder of a live poll lease on `source` (a poll running now), or None."""
        row = self._conn.execute("SELECT holder, until FROM poll_leases WHERE source=?", (source,)).fetchone()
        if row is None or datetime.fromisoformat(row[1]) <= now or _holder_died(str(row[0])):
            return None
        return str(row[0])

    async def end_poll(self, source: str, holder: str) -> None:
        self._conn.execute("DELETE FROM poll_leases WHERE source=? AND holder=?", (source, holder))

    # -- counters ----------------------------------------------------------------------------------
    async def bump(self, source: str, counts: dict[str, int]) -> None:
        rows = [(source, name, value) for name, value in counts.items() if value]
        if rows:
            self._conn.executemany(
                "INSERT INTO counters(source, name, value) VALUES (?,?,?) "
                "ON CONFLICT(source, name) DO UPDATE SET value = value + excluded.value",
                rows,
            )

    async def counters(self, source: str) -> dict[str, int]:
        rows = self._conn.execute("SELECT name, value FROM counters WHERE source=?", (source,)).fetchall()
        return {str(name): int(value) for name, value in rows}

    # -- the drop's sealed records -----------------------------------------------------------------
    async def put_drop_records(self, records: Sequence[DropRecord]) -> None:
        rows = [(r.source, r.legacy_id, r.seq, r.op, r.sealed) for r in records]
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.executemany(
                "INSERT INTO drop_records(source, legacy_id, seq, op, sealed) VALUES (?,?,?,?,?) "
                "ON CONFLICT(source, legacy_id) DO UPDATE SET seq=excluded.seq, op=excluded.op, "
                "sealed=excluded.sealed WHERE excluded.seq > drop_records.seq",
                rows,
            )
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    async def get_drop_record(self, source: str, legacy_id: str) -> DropRecord | None:
        row = self._conn.execute(
            "SELECT seq, op, sealed FROM drop_records WHERE source=? AND legacy_id=?", (source, legacy_id)
        ).fetchone()
        if row is None:
            return None
        return DropRecord(source, legacy_id, int(row[0]), str(row[1]), bytes(row[2]))
