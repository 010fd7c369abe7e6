"""SqliteLedger: the local ledger. One row per (source, legacy_id), runs, and per-chunk results.

`record_chunk` stores a chunk's result under (run_id, chunk_id) with INSERT OR REPLACE, so a
redelivered ChunkImported is counted once; run totals are always summed from the stored results.
`creations` remembers which run created each user (written with the `created` row, in the same
transaction; kept when a later run counts the user as already present): what `rollback` deletes.
`forget` drops a user's row and its creation (rollback's last step), so a later run creates it again.
The wave plan is one row (`waves plan` replaces it). Every statement runs on the ledger's own thread, in the
order the calls were made: the event loop never waits on SQLite (a 500-row write, a busy lock), and no two
threads ever share a transaction on the connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from pydantic import TypeAdapter

from shared.adapters.local.db import connect
from shared.errors import RunNotFound
from shared.messages import ChunkImported
from shared.outcomes import Creation, LedgerEntry, MethodOutcome, Outcome, RunState
from shared.waves import WavePlan

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ledger (
    source TEXT NOT NULL,
    legacy_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    object_id TEXT,
    code TEXT,
    message TEXT,
    line INTEGER,
    chunk_id TEXT,
    updated_at TEXT NOT NULL,
    create_sent INTEGER NOT NULL DEFAULT 0,
    methods TEXT,
    PRIMARY KEY (source, legacy_id)
);
CREATE INDEX IF NOT EXISTS ledger_run ON ledger(run_id, line);
CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, started_at TEXT NOT NULL, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS creations (
    source TEXT NOT NULL,
    legacy_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    object_id TEXT NOT NULL,
    PRIMARY KEY (source, legacy_id)
);
CREATE INDEX IF NOT EXISTS creations_run ON creations(run_id);
CREATE TABLE IF NOT EXISTS wave_plan (id INTEGER PRIMARY KEY CHECK (id = 1), plan TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chunk_results (
    run_id TEXT NOT NULL,
    chunk_id TEXT NOT NULL,
    created INTEGER NOT NULL,
    already_present INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    PRIMARY KEY (run_id, chunk_id)
);
"""
_COLUMNS = (
    "source, legacy_id, run_id, outcome, object_id, code, message, line, chunk_id, updated_at, create_sent, methods"
)
_METHODS = TypeAdapter(dict[str, MethodOutcome])
_LOOKUP_BATCH = 500
T = TypeVar("T")


def _entry(row: tuple[object, ...]) -> LedgerEntry:
    source, legacy_id, run_id, outcome, object_id, code, message, line, chunk_id, updated_at, create_sent, methods = row
    return LedgerEntry(
        source=str(source),
        legacy_id=str(legacy_id),
        run_id=str(run_id),
        outcome=Outcome(str(outcome)),
        object_id=object_id if isinstance(object_id, str) else None,
        code=code if isinstance(code, str) else None,
        message=message if isinstance(message, str) else None,
        line=line if isinstance(line, int) else None,
        chunk_id=chunk_id if isinstance(chunk_id, str) else None,
        updated_at=datetime.fromisoformat(str(updated_at)),
        create_sent=bool(create_sent),
        methods=_METHODS.validate_json(methods) if isinstance(methods, str) else {},
    )


class SqliteLedger:
    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self._conn = connect(path, read_only=read_only)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger")
        if read_only:
            return
        had_creations = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='creations'"
        ).fetchone()
        self._conn.executescript(_SCHEMA)
        if not had_creations:  # a state from before creations were kept: its created rows are still the run's own
            self._conn.execute(
                "INSERT OR IGNORE INTO creations(source, legacy_id, run_id, object_id) "
                "SELECT source, legacy_id, run_id, object_id FROM ledger "
                "WHERE outcome='created' AND object_id IS NOT NULL"
            )
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(ledger)")}
        if "create_sent" not in columns:  # a state directory from before create_sent existed
            self._conn.execute("ALTER TABLE ledger ADD COLUMN create_sent INTEGER NOT NULL DEFAULT 0")
        if "methods" not in columns:  # … or before MFA methods were imported
            self._conn.execute("ALTER TABLE ledger ADD COLUMN methods TEXT")

    def close(self) -> None:
        self._thread.shutdown(wait=True)
        self._conn.close()

    async def _on_thread(self, call: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, call)

    async def get_many(self, source: str, legacy_ids: Sequence[str]) -> dict[str, LedgerEntry]:
        return await self._on_thread(lambda: self._get_many(source, legacy_ids))

    def _get_many(self, source: str, legacy_ids: Sequence[str]) -> dict[str, LedgerEntry]:
        found: dict[str, LedgerEntry] = {}
        ids = list(legacy_ids)
        for start in range(0, len(ids), _LOOKUP_BATCH):
            part = ids[start : start + _LOOKUP_BATCH]
            marks = ",".join("?" * len(part))
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM ledger WHERE source=? AND legacy_id IN ({marks})",
                (source, *part),
            ).fetchall()
            for row in rows:
                entry = _entry(row)
                found[entry.legacy_id] = entry
        return found

    async def record(self, entries: Sequence[LedgerEntry]) -> None:
        await self._on_thread(lambda: self._record(entries))

    def _record(self, entries: Sequence[LedgerEntry]) -> None:
        rows = [
            (
                e.source, e.legacy_id, e.run_id, e.outcome.value, e.object_id, e.code, e.message, e.line,
                e.chunk_id, e.updated_at.isoformat(), int(e.create_sent),
                _METHODS.dump_json(e.methods).decode() if e.methods else None,
            )
            for e in entries
        ]  # fmt: skip
        created = [
            (e.source, e.legacy_id, e.run_id, e.object_id)
            for e in entries
            if e.outcome == Outcome.CREATED and e.object_id
        ]
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.executemany(f"INSERT OR REPLACE INTO ledger({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
            # The first run to create a user keeps it: a redelivery of that run's chunk writes the same row.
            self._conn.executemany(
                "INSERT OR IGNORE INTO creations(source, legacy_id, run_id, object_id) VALUES (?,?,?,?)", created
            )
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    async def entries_for_run(self, run_id: str) -> AsyncIterator[LedgerEntry]:
        cursor = await self._on_thread(
            lambda: self._conn.execute(f"SELECT {_COLUMNS} FROM ledger WHERE run_id=? ORDER BY line", (run_id,))
        )
        while rows := await self._on_thread(lambda: [_entry(row) for row in cursor.fetchmany(1000)]):
            for entry in rows:
                yield entry

    async def save_run(self, run: RunState) -> None:
        state = run.model_dump_json()
        await self._on_thread(
            lambda: self._conn.execute(
                "INSERT OR REPLACE INTO runs(run_id, started_at, state) VALUES (?,?,?)",
                (run.run_id, run.started_at.isoformat(), state),
            )
        )

    async def get_run(self, run_id: str) -> RunState | None:
        return await self._on_thread(lambda: self._get_run(run_id))

    def _get_run(self, run_id: str) -> RunState | None:
        row = self._conn.execute("SELECT state FROM runs WHERE run_id=?", (run_id,)).fetchone()
        return None if row is None else self._with_chunk_totals(RunState.model_validate_json(row[0]))

    async def record_chunk(self, result: ChunkImported) -> RunState:
        return await self._on_thread(lambda: self._record_chunk(result))

    def _record_chunk(self, result: ChunkImported) -> RunState:
        self._conn.execute(
            "INSERT OR REPLACE INTO chunk_results(run_id, chunk_id, created, already_present, failed) "
            "VALUES (?,?,?,?,?)",
            (result.run_id, result.chunk_id, result.created, result.already_present, result.failed),
        )
        run = self._get_run(result.run_id)
        if run is None:
            raise RunNotFound(f"run {result.run_id} is not in the ledger (chunk {result.chunk_id} was kept)")
        return run

    async def list_runs(self) -> list[RunState]:
        return await self._on_thread(self._list_runs)

    def _list_runs(self) -> list[RunState]:
        rows = self._conn.execute("SELECT state FROM runs ORDER BY started_at").fetchall()
        return [self._with_chunk_totals(RunState.model_validate_json(r[0])) for r in rows]

    def _with_chunk_totals(self, run: RunState) -> RunState:
        row = self._conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(created),0), COALESCE(SUM(already_present),0), COALESCE(SUM(failed),0) "
            "FROM chunk_results WHERE run_id=?",
            (run.run_id,),
        ).fetchone()
        return run.model_copy(
            update={"chunks_reported": row[0], "created": row[1], "already_present": row[2], "failed": row[3]}
        )

    # Rollback and waves

    async def creations_of(self, run_ids: Sequence[str]) -> list[Creation]:
        return await self._on_thread(lambda: self._creations_of(run_ids))

    def _creations_of(self, run_ids: Sequence[str]) -> list[Creation]:
        marks = ",".join("?" * len(run_ids))
        rows = self._conn.execute(
            f"SELECT source, legacy_id, run_id, object_id FROM creations WHERE run_id IN ({marks}) "
            "ORDER BY run_id, source, legacy_id",
            tuple(run_ids),
        ).fetchall()
        return [Creation(source=r[0], legacy_id=r[1], run_id=r[2], object_id=r[3]) for r in rows]

    async def forget(self, creations: Sequence[Creation]) -> None:
        await self._on_thread(lambda: self._forget(creations))

    def _forget(self, creations: Sequence[Creation]) -> None:
        keys = [(c.source, c.legacy_id) for c in creations]
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.executemany("DELETE FROM ledger WHERE source=? AND legacy_id=?", keys)
            self._conn.executemany("DELETE FROM creations WHERE source=? AND legacy_id=?", keys)
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    async def save_wave_plan(self, plan: WavePlan) -> None:
        text = plan.model_dump_json()
        await self._on_thread(
            lambda: self._conn.execute("INSERT OR REPLACE INTO wave_plan(id, plan) VALUES (1, ?)", (text,))
        )

    async def get_wave_plan(self) -> WavePlan | None:
        row = await self._on_thread(lambda: self._conn.execute("SELECT plan FROM wave_plan WHERE id=1").fetchone())
        return None if row is None else WavePlan.model_validate_json(row[0])
