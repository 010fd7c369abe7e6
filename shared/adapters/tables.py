"""Ledger port over Azure Table Storage (azure-data-tables, async), one table for everything.

Partitions: `user|<source>` holds one row per legacy user (RowKey = escaped legacyId), so get_many is
a few single-partition queries and record() is batched into 100-op transactions; `runs` holds one row
per run; `run|<run_id>` holds one row per reported chunk plus the run's `tally`, the sum of those
chunk rows. record_chunk inserts the chunk row and rewrites the tally (ETag-checked) in one
transaction, so a redelivered ChunkImported is counted once and concurrent trackers never lose a count.
`created|<source>` holds one row per user a run created (written with its `created` row, never by an
already-present one): what `rollback` deletes; `forget` removes both rows. `waves` holds the wave plan.

Errors (shared/errors.py): `RunNotFound` (record_chunk for a run never saved: the chunk is kept, redeliver later);
`LedgerContention` (the tally stayed contended through every retry: transient, redeliver).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from typing import Any, Self, TypeVar

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient
from pydantic import BaseModel

from shared.errors import LedgerContention, RunNotFound
from shared.messages import ChunkImported
from shared.outcomes import Creation, LedgerEntry, Outcome, RunState
from shared.waves import WavePlan

MAX_BATCH = 100  # Table transactions: at most 100 operations, all in one partition
# Table $filter allows at most 15 comparisons: one for the PartitionKey, 14 for RowKeys.
ROW_KEYS_PER_QUERY = 14
CONCURRENT_REQUESTS = 8
# Keys may be up to 1 KiB; measured as UTF-16 to stay inside the limit for any Unicode id.
MAX_KEY_BYTES = 1024
# A string property holds at most 64 KiB; failure messages are Graph's text, cut well before that.
MAX_MESSAGE_CHARS = 8000
TALLY_RETRIES = 40

JSON_SUFFIX = "__json"  # Table has no map/list type: such fields are stored as JSON text
RUNS_PARTITION = "runs"
WAVES_PARTITION, WAVE_PLAN_ROW = "waves", "plan"
TALLY_ROW = "tally"
_TALLY_FIELDS = ("chunks_reported", "created", "already_present", "failed")
_PLAN_FIELDS = tuple(f for f in RunState.model_fields if f not in _TALLY_FIELDS)
_ENTRY_FIELDS = tuple(LedgerEntry.model_fields)
T = TypeVar("T")


def escape_key(value: str) -> str:
    """A PartitionKey/RowKey for any string: Table forbids / \\ # ? and control characters in keys.

    Escapes are `%XXXX`; `%` and `~` are escaped too, so the mapping is one-to-one and a hashed key
    (`~sha256~…`, for ids too long to escape) can never equal an escaped one.
    """
    escaped = "".join(f"%{ord(ch):04X}" if _needs_escape(ch) else ch for ch in value)
    if len(escaped.encode("utf-16-le", "surrogatepass")) <= MAX_KEY_BYTES:
        return escaped
    return "~sha256~" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def _needs_escape(ch: str) -> bool:
    code = ord(ch)
    return ch in "/\\#?%~" or code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF


def user_partition(source: str) -> str:
    return f"user|{escape_key(source)}"


def created_partition(source: str) -> str:
    return f"created|{escape_key(source)}"


def run_partition(run_id: str) -> str:
    return f"run|{escape_key(run_id)}"


class TableLedger:
    """`Ledger` port. Build with `from_connection_string` (Azurite) or `from_account_url` (identity)."""

    def __init__(self, table: TableClient) -> None:
        self._table = table
        self._limit = asyncio.Semaphore(CONCURRENT_REQUESTS)
        # Chunk reports of one run serialise within this process, so ETag retries only happen between
        # instances (the Functions host runs many invocations on one loop; they would all collide).
        self._tally_locks: dict[str, asyncio.Lock] = {}

    @classmethod
    def from_connection_string(cls, connection_string: str, table_name: str) -> TableLedger:
        return cls(TableClient.from_connection_string(connection_string, table_name))

    @classmethod
    def from_account_url(cls, account_url: str, table_name: str, credential: Any = None) -> TableLedger:
        if credential is None:
            from azure.identity.aio import DefaultAzureCredential

            credential = DefaultAzureCredential()
        return cls(TableClient(account_url, table_name, credential=credential))

    async def ensure_table(self) -> None:
        """Create the table if missing (local runs and Azurite; in Azure, infra creates it)."""
        with suppress(ResourceExistsError):
            await self._table.create_table()

    async def close(self) -> None:
        await self._table.close()

    # Users

    async def get_many(self, source: str, legacy_ids: Sequence[str]) -> dict[str, LedgerEntry]:
        wanted = list(dict.fromkeys(legacy_ids))
        groups = [wanted[i : i + ROW_KEYS_PER_QUERY] for i in range(0, len(wanted), ROW_KEYS_PER_QUERY)]
        found: dict[str, LedgerEntry] = {}
        for rows in await asyncio.gather(*(self._get_group(source, group) for group in groups)):
            for entry in rows:
                found[entry.legacy_id] = entry
        return {legacy_id: found[legacy_id] for legacy_id in wanted if legacy_id in found}

    async def _get_group(self, source: str, legacy_ids: list[str]) -> list[LedgerEntry]:
        params: dict[str, Any] = {"pk": user_partition(source)}
        clauses = []
        for n, legacy_id in enumerate(legacy_ids):
            params[f"r{n}"] = escape_key(legacy_id)
            clauses.append(f"RowKey eq @r{n}")
        # The SDK substitutes @params only in space-separated words: keep a space before ")".
        query = f"PartitionKey eq @pk and ({' or '.join(clauses)} )"
        async with self._limit:
            return [_entry_from(e) async for e in self._table.query_entities(query, parameters=params)]

    async def record(self, entries: Sequence[LedgerEntry]) -> None:
        # One transaction may not touch a row twice: the last write for a user wins, as in a loop of upserts.
        # Creation rows first: a crash after them leaves a user rollback can still find (its object id is known).
        await self._upsert_rows([_creation_row(e) for e in entries if e.outcome == Outcome.CREATED and e.object_id])
        await self._upsert_rows([_entry_row(entry) for entry in entries])

    async def _upsert_rows(self, entity_rows: Sequence[dict[str, Any]]) -> None:
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        for row in entity_rows:
            rows[(row["PartitionKey"], row["RowKey"])] = row
        by_partition: dict[str, list[dict[str, Any]]] = {}
        for (partition, _), row in rows.items():
            by_partition.setdefault(partition, []).append(row)
        batches = [group[i : i + MAX_BATCH] for group in by_partition.values() for i in range(0, len(group), MAX_BATCH)]
        await asyncio.gather(*(self._upsert_batch(batch) for batch in batches))

    async def _upsert_batch(self, rows: list[dict[str, Any]]) -> None:
        async with self._limit:
            await self._table.submit_transaction([("upsert", row, {"mode": UpdateMode.REPLACE}) for row in rows])

    async def entries_for_run(self, run_id: str) -> AsyncIterator[LedgerEntry]:
        params: dict[str, Any] = {"run": run_id}
        run = await self._run_row(run_id)
        if run is not None:  # the run names its source: scan one partition, not the table
            params["pk"] = user_partition(run["source"])
            query = "PartitionKey eq @pk and run_id eq @run"
        else:
            query = "PartitionKey ge 'user|' and PartitionKey lt 'user}' and run_id eq @run"
        async for entity in self._table.query_entities(query, parameters=params):
            yield _entry_from(entity)

    # Rollback and waves

    async def creations_of(self, run_ids: Sequence[str]) -> list[Creation]:
        found: list[Creation] = []
        for run_id in run_ids:
            query = "PartitionKey ge 'created|' and PartitionKey lt 'created}' and run_id eq @run"
            found += [
                Creation.model_validate(_pick(e, Creation.model_fields))
                async for e in self._table.query_entities(query, parameters={"run": run_id})
            ]
        return sorted(found, key=lambda c: (c.run_id, c.source, c.legacy_id))

    async def forget(self, creations: Sequence[Creation]) -> None:
        """Each user's row, then its creation row: a crash in between leaves the creation, so a rerun redoes it."""

        async def drop(partition: str, row: str) -> None:
            async with self._limit:
                with suppress(ResourceNotFoundError):
                    await self._table.delete_entity(partition, row)

        for c in creations:
            await drop(user_partition(c.source), escape_key(c.legacy_id))
            await drop(created_partition(c.source), escape_key(c.legacy_id))

    async def save_wave_plan(self, plan: WavePlan) -> None:
        row = {"PartitionKey": WAVES_PARTITION, "RowKey": WAVE_PLAN_ROW, "plan" + JSON_SUFFIX: plan.model_dump_json()}
        await self._table.upsert_entity(row, mode=UpdateMode.REPLACE)

    async def get_wave_plan(self) -> WavePlan | None:
        row = await self._point_read(WAVES_PARTITION, WAVE_PLAN_ROW)
        return None if row is None else WavePlan.model_validate_json(row["plan" + JSON_SUFFIX])

    # Runs

    async def save_run(self, run: RunState) -> None:
        """Store the run's plan fields. The chunk counters are owned by record_chunk and never overwritten here."""
        row = {"PartitionKey": RUNS_PARTITION, "RowKey": escape_key(run.run_id), **_properties(run, _PLAN_FIELDS)}
        await self._table.upsert_entity(row, mode=UpdateMode.REPLACE)

    async def get_run(self, run_id: str) -> RunState | None:
        run, tally = await asyncio.gather(self._run_row(run_id), self._tally(run_id))
        return None if run is None else _run_from(run, tally)

    async def list_runs(self) -> list[RunState]:
        query = "PartitionKey eq @pk"
        runs = [e async for e in self._table.query_entities(query, parameters={"pk": RUNS_PARTITION})]
        tallies = await asyncio.gather(*(self._tally(r["run_id"]) for r in runs))
        states = [_run_from(run, tally) for run, tally in zip(runs, tallies, strict=True)]
        return sorted(states, key=lambda s: (s.started_at, s.run_id))

    async def record_chunk(self, result: ChunkImported) -> RunState:
        async with self._tally_locks.setdefault(result.run_id, asyncio.Lock()):
            tally = await self._add_to_tally(result)
        run = await self._run_row(result.run_id)
        if run is None:
            raise RunNotFound(f"run {result.run_id} is not in the ledger (chunk {result.chunk_id} was kept)")
        return _run_from(run, tally)

    async def _add_to_tally(self, result: ChunkImported) -> Mapping[str, Any]:
        partition = run_partition(result.run_id)
        chunk_row = {
            "PartitionKey": partition,
            "RowKey": "chunk|" + escape_key(result.chunk_id),
            "chunk_id": result.chunk_id,
            **result.model_dump(include={"created", "already_present", "failed"}),
        }
        query = "PartitionKey eq @pk and (RowKey eq @tally or RowKey eq @chunk )"
        params = {"pk": partition, "tally": TALLY_ROW, "chunk": chunk_row["RowKey"]}

        async def attempt() -> Mapping[str, Any]:
            rows = {e["RowKey"]: e async for e in self._table.query_entities(query, parameters=params)}
            tally = rows.get(TALLY_ROW)
            if chunk_row["RowKey"] in rows:
                return tally or {}  # already counted: a redelivery
            new_tally = {"PartitionKey": partition, "RowKey": TALLY_ROW, **_sum_tally(tally, result)}
            tally_op: tuple[str, dict[str, Any], dict[str, Any]] = (
                ("create", new_tally, {}) if tally is None else ("update", new_tally, if_unchanged(tally))
            )
            await self._table.submit_transaction([("create", chunk_row, {}), tally_op])
            return new_tally

        return await retry_on_etag(
            attempt, retries=TALLY_RETRIES,
            contended=lambda: LedgerContention(
                f"run {result.run_id}: tally still contended after {TALLY_RETRIES} attempts"
            ),
        )  # fmt: skip

    async def _run_row(self, run_id: str) -> Mapping[str, Any] | None:
        return await self._point_read(RUNS_PARTITION, escape_key(run_id))

    async def _tally(self, run_id: str) -> Mapping[str, Any] | None:
        return await self._point_read(run_partition(run_id), TALLY_ROW)

    async def _point_read(self, partition: str, row: str) -> Mapping[str, Any] | None:
        try:
            return await self._table.get_entity(partition, row)
        except ResourceNotFoundError:
            return None


def if_unchanged(entity: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments for an update that fails with 412 if `entity` changed since it was read."""
    etag = entity.metadata["etag"]  # type: ignore[attr-defined]
    return {"mode": UpdateMode.REPLACE, "etag": etag, "match_condition": MatchConditions.IfNotModified}


class OneTable:
    """Base of an adapter kept in one table: the two ways to open it, `ensure_table` and `close`."""

    def __init__(self, table: TableClient) -> None:
        self._table = table

    @classmethod
    def from_connection_string(cls, connection_string: str, table_name: str) -> Self:
        return cls(TableClient.from_connection_string(connection_string, table_name))

    @classmethod
    def from_account_url(cls, account_url: str, table_name: str, credential: Any) -> Self:
        return cls(TableClient(account_url, table_name, credential=credential))

    async def ensure_table(self) -> None:
        """Create the table if missing (Azurite and local tests; in Azure, infra creates it)."""
        with suppress(ResourceExistsError):
            await self._table.create_table()

    async def close(self) -> None:
        await self._table.close()


async def retry_on_etag(
    attempt: Callable[[], Awaitable[T]],
    *,
    retries: int,
    contended: Callable[[], Exception],
    backoff_s: float = 0.05,
) -> T:
    """Optimistic concurrency: run `attempt` (read, then write conditioned on the ETag) until no other writer
    got in between. 409 (a row we meant to create appeared) and 412 (a row moved) re-read and retry, with
    jittered backoff; any other error propagates; `contended()` is raised after `retries` attempts."""
    for n in range(retries):
        try:
            return await attempt()
        except HttpResponseError as exc:
            if exc.status_code not in (409, 412):
                raise
            await asyncio.sleep(random.uniform(0, backoff_s * (n + 1)))
    raise contended()


def _sum_tally(tally: Mapping[str, Any] | None, result: ChunkImported) -> dict[str, int]:
    base = {f: int(tally.get(f, 0)) if tally is not None else 0 for f in _TALLY_FIELDS}
    base["chunks_reported"] += 1
    base["created"] += result.created
    base["already_present"] += result.already_present
    base["failed"] += result.failed
    return base


def _run_from(run: Mapping[str, Any], tally: Mapping[str, Any] | None) -> RunState:
    fields = _pick(run, _PLAN_FIELDS)
    if tally is not None:
        fields.update(_pick(tally, _TALLY_FIELDS))
    return RunState.model_validate(fields)


def _entry_row(entry: LedgerEntry) -> dict[str, Any]:
    row = _properties(entry, _ENTRY_FIELDS)
    row["outcome"] = entry.outcome.value
    if entry.message is not None and len(entry.message) > MAX_MESSAGE_CHARS:
        row["message"] = entry.message[: MAX_MESSAGE_CHARS - 1] + "…"
    return {"PartitionKey": user_partition(entry.source), "RowKey": escape_key(entry.legacy_id), **row}


def _creation_row(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "PartitionKey": created_partition(entry.source), "RowKey": escape_key(entry.legacy_id),
        "source": entry.source, "legacy_id": entry.legacy_id, "run_id": entry.run_id, "object_id": entry.object_id,
    }  # fmt: skip


def _entry_from(entity: Mapping[str, Any]) -> LedgerEntry:
    return LedgerEntry.model_validate(_pick(entity, _ENTRY_FIELDS))


def _properties(model: BaseModel, fields: Iterable[str]) -> dict[str, Any]:
    """A model's fields as Table properties: scalars and datetimes typed, dicts and lists as JSON text."""
    wanted = set(fields)
    native = model.model_dump(include=wanted, exclude_none=True)
    as_json = model.model_dump(mode="json", include=wanted, exclude_none=True)
    props: dict[str, Any] = {}
    for name, value in native.items():
        if isinstance(value, dict | list):
            props[name + JSON_SUFFIX] = json.dumps(as_json[name], separators=(",", ":"))
        else:
            props[name] = value
    return props


def _pick(entity: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    # Table returns only the properties that were stored; an absent one takes the model's default.
    picked: dict[str, Any] = {}
    for name in fields:
        if name in entity:
            picked[name] = entity[name]
        elif name + JSON_SUFFIX in entity:
            picked[name] = json.loads(entity[name + JSON_SUFFIX])
    return picked
