"""One SQLite file per state directory, in WAL mode so a crash at any point leaves it consistent.

Every statement on a connection from `connect` turns SQLite's storage failures (disk full, read-only,
corrupt, unopenable) into `StateUnavailable`: one line naming the file and the cause, so the local host
stops instead of retrying a write the disk cannot take. Nothing is half-written: SQLite rolls back.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from shared.errors import Permanent


class StateUnavailable(Permanent):
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


def connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    """A connection for the state's database. `read_only` (for `status`) never writes and also opens a state on
    read-only media, where a WAL database can't create its shared-memory file (then it is opened immutable)."""
    if read_only:
        return _connect_read_only(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=30.0, factory=_StateConnection
        )
    except (OSError, sqlite3.DatabaseError) as exc:
        raise unavailable(path, exc) or exc from None
    assert isinstance(conn, _StateConnection)
    conn.state_path = str(path)
    try:
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    except StateUnavailable as exc:
        conn.close()
        if exc.cause.startswith("cannot open") and not os.access(path.parent, os.W_OK):
            raise StateUnavailable(path, f"read-only ({_FIXES['read-only']})") from None
        raise
    return conn


def _connect_read_only(path: Path) -> sqlite3.Connection:
    last: BaseException | None = None
    for mode in ("mode=ro", "immutable=1"):
        try:
            conn = sqlite3.connect(
                f"file:{path}?{mode}", uri=True, isolation_level=None, check_same_thread=False,
                factory=_StateConnection,
            )  # fmt: skip
            assert isinstance(conn, _StateConnection)
            conn.state_path = str(path)
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # opens the file for real
            return conn
        except (sqlite3.DatabaseError, StateUnavailable) as exc:
            last = exc
    assert last is not None
    raise (last if isinstance(last, StateUnavailable) else unavailable(path, last) or last) from None
