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

from azure.core import MatchConditions
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from shared.adapters.graph.quota_lease import BucketRow, BucketTerms, blocked, decode_grants, draw, encode_grants
from shared.adapters.tables import escape_key, retry_on_etag
from shared.errors import QuotaContention

PARTITION = "quota"
RETRIES = 60


class TableQuotaStore:
    def __init__(self, table: TableClient, *, clock: Callable[[], float] = time.time) -> None:
        self._table = table
        self._clock = clock
        # The row as this instance last wrote it, with its ETag: the next draw writes against it without reading
        # first (one round-trip, not two). Others only ever add grants to a row, so the cached row never shows
        # room the stored one lacks; when another instance wrote since, the write fails 412 and is re-read.
        self._cache: dict[str, tuple[BucketRow, str]] = {}

    @classmethod
    def from_connection_string(cls, connection_string: str, table_name: str) -> TableQuotaStore:
        return cls(TableClient.from_connection_string(connection_string, table_name))

    async def close(self) -> None:
        await self._table.close()

    async def draw(self, key: str, terms: BucketTerms, need: int, want: int, step: int = 1) -> tuple[int, float, float]:
        async def attempt() -> tuple[int, float, float]:
            cached = self._cache.pop(key, None)  # at most once: a 412 retries from a fresh read
            old, etag = cached if cached is not None else await self._read_row(key)
            now = self._clock()
            row, granted, wait = draw(old, terms, need, want, now, step)
            if granted:
                self._cache[key] = (row, await self._write(key, etag, row))
            elif cached is not None:
                self._cache[key] = cached
            return granted, wait, now

        return await retry_on_etag(attempt, retries=RETRIES, contended=lambda: _contended(key), backoff_s=0.01)

    async def block(self, key: str, terms: BucketTerms, seconds: float) -> None:
        async def attempt() -> None:
            self._cache.pop(key, None)
            old, etag = await self._read_row(key)
            await self._write(key, etag, blocked(old, terms, seconds, self._clock()))

        await retry_on_etag(attempt, retries=RETRIES, contended=lambda: _contended(key), backoff_s=0.01)

    async def _read_row(self, key: str) -> tuple[BucketRow | None, str | None]:
        """The stored row and its ETag; (None, None) when no instance has drawn on `key` yet."""
        try:
            entity = await self._table.get_entity(PARTITION, escape_key(key))
        except ResourceNotFoundError:
            return None, None
        return _row(entity), str(entity.metadata["etag"])

    async def _write(self, key: str, etag: str | None, row: BucketRow) -> str:
        """The row's new ETag. Creates it when `etag` is None (409 if another instance created it first: retried),
        else replaces it only if unchanged (412 if it moved: retried)."""
        values = {
            "PartitionKey": PARTITION, "RowKey": escape_key(key),
            "tokens": row.tokens, "updated": row.updated, "blocked_until": row.blocked_until,
            "grants": encode_grants(row.grants),
        }  # fmt: skip
        if etag is None:
            written = await self._table.create_entity(values)
        else:
            written = await self._table.update_entity(
                values, mode=UpdateMode.REPLACE, etag=etag, match_condition=MatchConditions.IfNotModified
            )
        return str(written["etag"])


def _row(entity: Mapping[str, Any] | None) -> BucketRow | None:
    if entity is None:
        return None
    return BucketRow(
        float(entity["tokens"]), float(entity["updated"]), float(entity["blocked_until"]),
        decode_grants(entity.get("grants")),
    )  # fmt: skip


def _contended(key: str) -> QuotaContention:
    return QuotaContention(f"write quota bucket {key}: still contended after {RETRIES} attempts")
