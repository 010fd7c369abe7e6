"""ReconcileWork: reconcile's on-disk working set, so a 1M-user export never sits in memory.

One SQLite file (deleted when closed): `expected` (one row per admitted legacy user: its ledger object id and
its mapped fields as JSON), `ours` (every object id the ledger links to a legacy id) and `differences` (every
difference found, in order). Callers hold at most one batch of rows (BATCH) or one Graph page at a time.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.reconcile.model import Difference

BATCH = 1000


@dataclass(frozen=True, slots=True)
class ExpectedRow:
    legacy_id: str
    object_id: str | None  # the ledger's, when it links one
    outcome: str | None  # the ledger's outcome, None when the ledger never saw the user
    line: int
    fields: dict[str, Any]
    jit: bool  # the import sets the JIT flag for this user

_SCHEMA = """
CREATE TABLE expected (legacy_id TEXT PRIMARY KEY, object_id TEXT, outcome TEXT, line INTEGER,
                       fields TEXT NOT NULL, jit INTEGER NOT NULL, seen INTEGER NOT NULL DEFAULT 0);
CREATE INDEX expected_object ON expected(object_id);
CREATE TABLE ours (object_id TEXT PRIMARY KEY, legacy_id TEXT NOT NULL, outcome TEXT NOT NULL);
CREATE TABLE differences (seq INTEGER PRIMARY KEY, body TEXT NOT NULL);
"""


class ReconcileWork:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=OFF")  # scratch data: rebuilt from scratch by every reconcile
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()
        self.path.unlink(missing_ok=True)

    def add_expected(self, rows: Sequence[ExpectedRow]) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO expected(legacy_id, object_id, outcome, line, fields, jit) "
                "VALUES (?,?,?,?,?,?)",
                [(r.legacy_id, r.object_id, r.outcome, r.line, json.dumps(r.fields, sort_keys=True), int(r.jit))
                 for r in rows],
            )

    def add_ours(self, rows: Sequence[tuple[str, str, str]]) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO ours(object_id, legacy_id, outcome) VALUES (?,?,?)", rows)

    def expected_for(self, object_ids: Sequence[str]) -> dict[str, tuple[str, int, dict[str, Any], bool]]:
        """{object id: (legacy id, line, fields, jit)} for the expected users among `object_ids`; marks them seen."""
        found: dict[str, tuple[str, int, dict[str, Any], bool]] = {}
        for start in range(0, len(object_ids), 500):
            part = list(object_ids[start : start + 500])
            marks = ",".join("?" * len(part))
            rows = self._db.execute(
                f"SELECT object_id, legacy_id, line, fields, jit FROM expected WHERE object_id IN ({marks})", part
            ).fetchall()
            for oid, lid, line, fields, jit in rows:
                found[oid] = (lid, line, json.loads(fields), bool(jit))
            self._db.execute(f"UPDATE expected SET seen=1 WHERE object_id IN ({marks})", part)
        return found

    def ours_among(self, object_ids: Sequence[str]) -> dict[str, str]:
        """{object id: legacy id} for the ids the ledger links."""
        found: dict[str, str] = {}
        for start in range(0, len(object_ids), 500):
            part = list(object_ids[start : start + 500])
            marks = ",".join("?" * len(part))
            for oid, lid in self._db.execute(
                f"SELECT object_id, legacy_id FROM ours WHERE object_id IN ({marks})", part
            ):
                found[oid] = lid
        return found

    def unseen(self) -> Iterator[tuple[str, str | None, str | None, int]]:
        """(legacy id, object id, ledger outcome, line) of expected users no tenant page showed, in export order."""
        cursor = self._db.execute(
            "SELECT legacy_id, object_id, outcome, line FROM expected WHERE seen=0 ORDER BY line"
        )
        while rows := cursor.fetchmany(BATCH):
            yield from rows

    def add_differences(self, differences: Sequence[Difference]) -> None:
        if differences:
            with self._db:
                self._db.execute("BEGIN")
                self._db.executemany(
                    "INSERT INTO differences(body) VALUES (?)", [(d.model_dump_json(),) for d in differences]
                )

    def differences(self) -> Iterator[Difference]:
        cursor = self._db.execute("SELECT body FROM differences ORDER BY seq")
        while rows := cursor.fetchmany(BATCH):
            for (body,) in rows:
                yield Difference.model_validate_json(body)
