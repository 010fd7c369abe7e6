"""TableSyncStore: the sync store over Azure Table Storage (azure-data-tables, async), its own table beside the
ledger's (SYNC_TABLE).

Partitions: `fp|<source>` one row per user (fingerprint JSON), `conflict|<source>` one row per conflict (RowKey
= its digest, so a repeat is a no-op insert), `cursor` and `lease` one row per source, `count|<source>` one row
per counter, `drop|<source>` one row per user (the highest-seq sealed record). The poll lease and the counters
and drop records are ETag-checked read-modify-writes (shared.adapters.tables.retry_on_etag; writers of one row
in one process take turns), so several instances never both hold a lease, lose a count or keep a lower seq. A
row still contended after RETRIES attempts raises SyncStoreContention (transient: the message is redelivered);
nothing is ever dropped silently.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import suppress
from datetime import datetime
from typing import Any, TypeVar

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import EdmType, EntityProperty, TableEntity, UpdateMode
from azure.data.tables.aio import TableClient

from shared.adapters.tables import escape_key, if_unchanged, retry_on_etag
from shared.errors import SyncStoreContention
from shared.sync.model import Conflict, CursorState, Fingerprint
from shared.sync.sqlite_store import conflict_key
from shared.sync.store import DropRecord

RETRIES = 40
_BATCH = 100  # operations per entity group transaction (Table Storage's limit)
T = TypeVar("T")


def _partition(kind: str, source: str) -> str:
    return f"{kind}|{escape_key(source)}"


def _int(value: Any) -> int:
    """An integer property as read back: Int64 ones come as EntityProperty, Int32 ones (older rows) as int."""
    return int(value.value if isinstance(value, EntityProperty) else value)


class TableSyncStore:
    def __init__(self, table: TableClient) -> None:
        self._table = table
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    @classmethod
    def from_connection_string(cls, connection_string: str, table_name: str) -> TableSyncStore:
        return cls(TableClient.from_connection_string(connection_string, table_name))

    @classmethod
    def from_account_url(cls, account_url: str, table_name: str, credential: Any = None) -> TableSyncStore:
        if credential is None:
            from azure.identity.aio import DefaultAzureCredential

            credential = DefaultAzureCredential()
        return cls(TableClient(account_url, table_name, credential=credential))

    async def close(self) -> None:
        await self._table.close()

    async def _get(self, partition: str, row: str) -> dict[str, Any] | None:
        entity = await self._point(partition, row)
        return None if entity is None else dict(entity)

    async def _point(self, partition: str, row: str) -> TableEntity | None:
        try:
            return await self._table.get_entity(partition, row)
        except ResourceNotFoundError:
            return None

    def _row_lock(self, partition: str, row: str) -> asyncio.Lock:
        """Writers of one row in this process take turns, so ETag retries only happen between instances."""
        return self._locks.setdefault((partition, row), asyncio.Lock())

    @staticmethod
    async def _contended_retry(attempt: Callable[[], Awaitable[T]], what: str) -> T:
        return await retry_on_etag(
            attempt, retries=RETRIES, backoff_s=0.02,
            contended=lambda: SyncStoreContention(f"sync store: {what} still contended after {RETRIES} attempts"),
        )  # fmt: skip

    async def _put(self, partition: str, row: str, **fields: Any) -> None:
        await self._table.upsert_entity({"PartitionKey": partition, "RowKey": row, **fields}, mode=UpdateMode.REPLACE)

    # -- fingerprints ------------------------------------------------------------------------------
    async def get_fingerprints(self, source: str, legacy_ids: Sequence[str]) -> dict[str, Fingerprint]:
        partition = _partition("fp", source)
        rows = await asyncio.gather(*(self._get(partition, escape_key(i)) for i in dict.fromkeys(legacy_ids)))
        found = [Fingerprint.model_validate_json(r["data"]) for r in rows if r is not None]
        return {fp.legacy_id: fp for fp in found}

    async def put_fingerprint(self, fingerprint: Fingerprint) -> None:
        await self._put(_partition("fp", fingerprint.source), escape_key(fingerprint.legacy_id),
                        data=fingerprint.model_dump_json())  # fmt: skip

    async def put_fingerprints(self, fingerprints: Sequence[Fingerprint]) -> None:
        """Entity group transactions of up to 100 upserts, one partition each (Table Storage's batch limits)."""
        latest = {(fp.source, fp.legacy_id): fp for fp in fingerprints}  # one operation per row in a batch
        by_partition: dict[str, list[Fingerprint]] = {}
        for fp in latest.values():
            by_partition.setdefault(_partition("fp", fp.source), []).append(fp)
        batches = [
            [("upsert", {"PartitionKey": partition, "RowKey": escape_key(fp.legacy_id), "data": fp.model_dump_json()},
              {"mode": UpdateMode.REPLACE}) for fp in group[start : start + _BATCH]]
            for partition, group in by_partition.items() for start in range(0, len(group), _BATCH)
        ]  # fmt: skip
        await asyncio.gather(*(self._table.submit_transaction(batch) for batch in batches))

    async def forget_fingerprints(self, source: str, legacy_ids: Sequence[str]) -> None:
        partition = _partition("fp", source)
        await asyncio.gather(*(self._table.delete_entity(partition, escape_key(i)) for i in dict.fromkeys(legacy_ids)))

    async def fingerprints(self, source: str) -> AsyncIterator[Fingerprint]:
        query = self._table.query_entities("PartitionKey eq @p", parameters={"p": _partition("fp", source)})
        async for entity in query:
            yield Fingerprint.model_validate_json(entity["data"])

    # -- conflicts ---------------------------------------------------------------------------------
    async def record_conflict(self, conflict: Conflict) -> bool:
        entity = {"PartitionKey": _partition("conflict", conflict.source), "RowKey": conflict_key(conflict),
                  "at": conflict.at.isoformat(), "data": conflict.model_dump_json()}  # fmt: skip
        try:
            await self._table.create_entity(entity)
        except ResourceExistsError:
            return False
        return True

    async def conflicts(self, source: str | None = None) -> list[Conflict]:
        if source is None:
            query = self._table.query_entities("PartitionKey ge 'conflict|' and PartitionKey lt 'conflict}'")
        else:
            query = self._table.query_entities("PartitionKey eq @p", parameters={"p": _partition("conflict", source)})
        found = [Conflict.model_validate_json(e["data"]) async for e in query]
        return sorted(found, key=lambda c: c.at)

    # -- cursors and the poll lease ----------------------------------------------------------------
    async def get_cursor(self, source: str) -> CursorState | None:
        row = await self._get("cursor", escape_key(source))
        return None if row is None else CursorState.model_validate_json(row["data"])

    async def put_cursor(self, state: CursorState) -> None:
        await self._put("cursor", escape_key(state.source), data=state.model_dump_json())

    async def sources(self) -> list[str]:
        query = self._table.query_entities("PartitionKey eq 'cursor'")
        return sorted([CursorState.model_validate_json(e["data"]).source async for e in query])

    async def begin_poll(self, source: str, holder: str, now: datetime, lease_until: datetime) -> bool:
        row = escape_key(source)
        wanted = {"holder": holder, "until": lease_until.isoformat()}

        async def attempt() -> bool:
            entity = await self._point("lease", row)
            if entity is None:
                await self._table.create_entity({"PartitionKey": "lease", "RowKey": row, **wanted})  # 409: retried
                return True
            if entity["holder"] != holder and datetime.fromisoformat(entity["until"]) > now:
                return False
            await self._table.update_entity({**entity, **wanted}, **if_unchanged(entity))  # 412: retried
            return True

        return await self._contended_retry(attempt, f"poll lease of {source}")

    async def end_poll(self, source: str, holder: str) -> None:
        row = escape_key(source)
        with suppress(ResourceNotFoundError):
            entity = await self._table.get_entity("lease", row)
            if entity["holder"] == holder:
                with suppress(ResourceModifiedError, ResourceNotFoundError, HttpResponseError):
                    await self._table.delete_entity("lease", row, etag=entity.metadata["etag"],
                                                    match_condition=MatchConditions.IfNotModified)  # fmt: skip

    # -- counters ----------------------------------------------------------------------------------
    async def bump(self, source: str, counts: dict[str, int]) -> None:
        partition = _partition("count", source)
        for name, value in counts.items():
            if value:
                await self._add(partition, escape_key(name), value)

    async def _add(self, partition: str, row: str, value: int) -> None:
        async def attempt() -> None:
            entity = await self._point(partition, row)
            if entity is None:
                await self._table.create_entity({"PartitionKey": partition, "RowKey": row, "value": value})
            else:
                await self._table.update_entity({**entity, "value": int(entity["value"]) + value},
                                                **if_unchanged(entity))  # fmt: skip

        async with self._row_lock(partition, row):
            await self._contended_retry(attempt, f"counter {row}")

    async def counters(self, source: str) -> dict[str, int]:
        query = self._table.query_entities("PartitionKey eq @p", parameters={"p": _partition("count", source)})
        found: dict[str, int] = {}
        async for entity in query:
            found[str(entity["RowKey"])] = int(entity["value"])
        return found

    # -- the drop's sealed records -----------------------------------------------------------------
    async def put_drop_records(self, records: Sequence[DropRecord]) -> None:
        await asyncio.gather(*(self._keep_highest(r) for r in records))

    async def _keep_highest(self, record: DropRecord) -> None:
        partition, row = _partition("drop", record.source), escape_key(record.legacy_id)
        # Int64: a snapshot's version is its export's mtime in ms, a CDC sequence can pass 2**31 (Int32 refuses both)
        seq = EntityProperty(record.seq, EdmType.INT64)
        fields = {"legacy_id": record.legacy_id, "seq": seq, "op": record.op, "sealed": record.sealed}

        async def attempt() -> None:
            entity = await self._point(partition, row)
            if entity is None:
                await self._table.create_entity({"PartitionKey": partition, "RowKey": row, **fields})
            elif _int(entity["seq"]) < record.seq:
                await self._table.update_entity({**entity, **fields}, **if_unchanged(entity))

        async with self._row_lock(partition, row):
            await self._contended_retry(attempt, f"drop record of one {record.source} user")

    async def get_drop_record(self, source: str, legacy_id: str) -> DropRecord | None:
        row = await self._get(_partition("drop", source), escape_key(legacy_id))
        if row is None:
            return None
        sealed = row["sealed"]
        return DropRecord(source, legacy_id, _int(row["seq"]), str(row["op"]), bytes(sealed))
