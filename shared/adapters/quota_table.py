"""QuotaStore over Azure Table Storage: every Functions instance draws its write leases from one row per bucket.

Partition `quota`, one row per bucket key. A draw reads the row and writes it back conditioned on its ETag
(shared/adapters/tables.py retry_on_etag), so two instances can never both take the same tokens; a draw that
grants nothing writes nothing. The row holds the pacing bucket and the grant log (quota_lease.py) as a string
property: ~15 characters per entry, at most MERGE_SLOTS entries, far under a property's 64 KiB.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables.aio import TableClient

from shared.adapters.graph.quota_lease import BucketRow, BucketTerms, blocked, decode_grants, draw, encode_grants
from shared.adapters.tables import escape_key, if_unchanged, retry_on_etag
from shared.errors import QuotaContention

PARTITION = "quota"
RETRIES = 60


class TableQuotaStore:
    def __init__(self, table: TableClient, *, clock: Callable[[], float] = time.time) -> None:
        self._table = table
        self._clock = clock

    @classmethod
    def from_connection_string(cls, connection_string: str, table_name: str) -> TableQuotaStore:
        return cls(TableClient.from_connection_string(connection_string, table_name))

    async def close(self) -> None:
        await self._table.close()

    async def draw(self, key: str, terms: BucketTerms, need: int, want: int, step: int = 1) -> tuple[int, float]:
        async def attempt() -> tuple[int, float]:
            entity = await self._read(key)
            row, granted, wait = draw(_row(entity), terms, need, want, self._clock(), step)
            if granted:
                await self._write(key, entity, row)
            return granted, wait

        return await retry_on_etag(attempt, retries=RETRIES, contended=lambda: _contended(key), backoff_s=0.01)

    async def block(self, key: str, terms: BucketTerms, seconds: float) -> None:
        async def attempt() -> None:
            entity = await self._read(key)
            await self._write(key, entity, blocked(_row(entity), terms, seconds, self._clock()))

        await retry_on_etag(attempt, retries=RETRIES, contended=lambda: _contended(key), backoff_s=0.01)

    async def _read(self, key: str) -> Mapping[str, Any] | None:
        try:
            return await self._table.get_entity(PARTITION, escape_key(key))
        except ResourceNotFoundError:
            return None

    async def _write(self, key: str, entity: Mapping[str, Any] | None, row: BucketRow) -> None:
        values = {
            "PartitionKey": PARTITION, "RowKey": escape_key(key),
            "tokens": row.tokens, "updated": row.updated, "blocked_until": row.blocked_until,
            "grants": encode_grants(row.grants),
        }  # fmt: skip
        if entity is None:
            await self._table.create_entity(values)  # 409 if another instance created it first: retried
        else:
            await self._table.update_entity(values, **if_unchanged(entity))  # 412 if it moved: retried


def _row(entity: Mapping[str, Any] | None) -> BucketRow | None:
    if entity is None:
        return None
    return BucketRow(
        float(entity["tokens"]), float(entity["updated"]), float(entity["blocked_until"]),
        decode_grants(entity.get("grants")),
    )  # fmt: skip


def _contended(key: str) -> QuotaContention:
    return QuotaContention(f"write quota bucket {key}: still contended after {RETRIES} attempts")
