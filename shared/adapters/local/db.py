"""One SQLite file per state directory, in WAL mode so a crash at any point leaves it consistent.

Every statement on a connection from `connect` turns SQLite's storage failures (disk full, read-only,
corrupt, unopenable) into `StateUnavailable`: one line naming the file and the cause, so the local host
stops instead of retrying a write the disk cannot take. Nothing is half-written: SQLite rolls back.
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any


class StateUnavailable(Exception):
    """The state directory cannot be read or written. str() names the path, the cause and what to do."""

    def __init__(self, path: Path | str, cause: str) -> None:
        super().__init__(f"{path}: {cause}")
        self.path = str(path)
        self.cause = cause


_FIXES = {
    "disk full": "free space on that disk, then run the same command again to resume",
    "read-only": "make it writable (or use another --state), then run the same command again",
    "corrupt": "restore the state directory from a backup, or start over with a new --state",
    "cannot open": "check the path and its permissions",
}


def storage_cause(exc: BaseException) -> str | None:
    """'disk full', 'read-only', 'corrupt' or 'cannot open' for a storage failure; None for anything else."""
    if isinstance(exc, OSError):
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return "disk full"
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return "read-only"
        return None
    if isinstance(exc, sqlite3.DatabaseError):
        text = str(exc).lower()
        if "full" in text:
            return "disk full"
        if "readonly" in text or "read-only" in text:
            return "read-only"
        if "malformed" in text or "not a database" in text or "encrypted" in text:
            return "corrupt"
        if "unable to open" in text:
            return "cannot open"
    return None


def unavailable(path: Path | str, exc: BaseException) -> StateUnavailable | None:
    cause = storage_cause(exc)
    return None if cause is None else StateUnavailable(path, f"{cause} ({_FIXES[cause]})")


class _StateConnection(sqlite3.Connection):
    state_path: str = ""

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        try:
            return super().execute(sql, parameters)
        except sqlite3.DatabaseError as exc:
            raise unavailable(self.state_path, exc) or exc from None

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> sqlite3.Cursor:
        try:
            return super().executemany(sql, parameters)
        except sqlite3.DatabaseError as exc:
            raise unavailable(self.state_path, exc) or exc from None

    def executescript(self, sql_script: str, /) -> sqlite3.Cursor:
        try:
            return super().executescript(sql_script)
        except sqlite3.DatabaseError as exc:
            raise unavailable(self.state_path, exc) or exc from None


def connect(path: Path) -> sqlite3.Connection:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=30.0, factory=_StateConnection
        )
    except (OSError, sqlite3.DatabaseError) as exc:
        raise unavailable(path, exc) or exc from None
    assert isinstance(conn, _StateConnection)
    conn.state_path = str(path)
    conn.execute("PRAGMA busy_timeout=30000")
    try:
        conn.execute("PRAGMA journal_mode=WAL")
    except StateUnavailable as exc:
        if not exc.cause.startswith("read-only"):
            raise
        # A read-only state can still be read (`status`); writes will say read-only when they come.
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn
