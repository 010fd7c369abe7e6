"""TableCredentialVault: the CredentialVault port over Azure Table Storage, shared by every Functions instance.

Same envelope format as the SQLite vault (shared.vault.envelope): one entity per credential holding only
`kek_id`, `wrapped_dek` and `sealed` (nonce + AES-GCM ciphertext, associated data = object id), plus the object
id itself. Nothing readable: not the hash, salt, params, nor the legacy id.

Keys: RowKey = escape_key(object id); PartitionKey = `cred|<first hex digit of sha256(object id)>`, 16 fixed
buckets, so a point read needs only the object id and `store_many` (the import stage's ~500 users per chunk)
becomes a few batch transactions (≤ 100 upserts each, one partition each) instead of one request per user.
Do not change PARTITION_BUCKETS on a populated table: stored rows would no longer be found.

KEK rotation: `kek_counts` (a scan of kek_id) and `rewrap`, which replaces each row's kek_id and wrapped_dek
only if its ETag is unchanged (a row re-stored meanwhile is already under the current KEK) and can be re-run.

Idempotent: store upserts (replace) by object id; delete of a missing row is a no-op. Unlike SQLite's
secure_delete, a deleted entity cannot be zeroed by us: the service reclaims it (it was only ever ciphertext).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from shared.adapters.tables import escape_key
from shared.ports import StoredCredential
from shared.vault.envelope import Lookup, Rewrap, Sealed, open_sealed, rewrapped, seal_all
from shared.vault.wrappers import KeyUnwrapFailed, KeyWrapper

MAX_BATCH = 100  # Table transactions: at most 100 operations, all in one partition
PARTITION_BUCKETS = 16  # one hex digit of the hash; see the module docstring before changing
CONCURRENT_REQUESTS = 8
PROPERTIES = ("object_id", "kek_id", "wrapped_dek", "sealed")


def credential_keys(object_id: str) -> tuple[str, str]:
    """(PartitionKey, RowKey) of a credential."""
    digest = hashlib.sha256(object_id.encode("utf-8", "surrogatepass")).hexdigest()
    bucket = int(digest[:8], 16) % PARTITION_BUCKETS
    return f"cred|{bucket:x}", escape_key(object_id)


class TableCredentialVault:
    """`CredentialVault` port (and the JIT handler's `lookup`). Build with `from_connection_string` (Azurite,
    keys) or `from_account_url` (managed identity); the KEK is a KeyWrapper (Key Vault in Azure)."""

    def __init__(self, table: TableClient, wrapper: KeyWrapper) -> None:
        self._table = table
        self._wrapper = wrapper
        self._limit = asyncio.Semaphore(CONCURRENT_REQUESTS)

    @classmethod
    def from_connection_string(
        cls, connection_string: str, table_name: str, wrapper: KeyWrapper
    ) -> TableCredentialVault:
        return cls(TableClient.from_connection_string(connection_string, table_name), wrapper)

    @classmethod
    def from_account_url(
        cls, account_url: str, table_name: str, wrapper: KeyWrapper, credential: Any = None
    ) -> TableCredentialVault:
        if credential is None:
            from azure.identity.aio import DefaultAzureCredential

            credential = DefaultAzureCredential()
        return cls(TableClient(account_url, table_name, credential=credential), wrapper)

    async def close(self) -> None:
        await self._table.close()
        close_wrapper = getattr(self._wrapper, "close", None)  # Key Vault: its CryptographyClients
        if close_wrapper is not None:
            await close_wrapper()

    # -- the CredentialVault port -------------------------------------------------------------------

    async def store(self, credential: StoredCredential) -> None:
        await self.store_many([credential])

    async def store_many(self, credentials: Sequence[StoredCredential]) -> None:
        """Upsert in batch transactions of ≤ 100 rows per partition. Each batch is atomic; a failed call may
        have stored some batches, and repeating it (a redelivered chunk) converges: every write is an upsert."""
        # A transaction may not touch a row twice: the last credential for an object id wins, as in a loop.
        latest = list({c.object_id: c for c in credentials}.values())
        by_partition: dict[str, list[dict[str, Any]]] = {}
        for sealed in await seal_all(self._wrapper, latest):
            entity = _entity(sealed)
            by_partition.setdefault(entity["PartitionKey"], []).append(entity)
        batches = [rows[i : i + MAX_BATCH] for rows in by_partition.values() for i in range(0, len(rows), MAX_BATCH)]
        await asyncio.gather(*(self._upsert_batch(batch) for batch in batches))

    async def load(self, object_id: str) -> StoredCredential | None:
        entity = await self._point_read(object_id)
        return None if entity is None else await open_sealed(self._wrapper, _sealed(object_id, entity))

    async def delete(self, object_id: str) -> None:
        partition, row = credential_keys(object_id)
        async with self._limit:
            await self._table.delete_entity(partition, row)  # the SDK treats 404 as done

    # -- for the JIT handler ------------------------------------------------------------------------

    async def lookup(self, object_id: str) -> Lookup:
        """Like load, but on a miss opens another stored row (a decoy) instead and offers its hash for a dummy
        verification, as SqliteCredentialVault.lookup does. Both paths make the same two concurrent requests
        (the point read and the first row of the same partition) and open exactly one row, so a miss costs what
        a hit does. Only a miss in an empty partition reads once more (the table's first row)."""
        partition, _ = credential_keys(object_id)
        entity, decoy = await asyncio.gather(self._point_read(object_id), self._first(partition))
        if entity is not None:
            credential = await open_sealed(self._wrapper, _sealed(object_id, entity))
            return Lookup(credential, credential.password_hash)
        if decoy is None:
            decoy = await self._first(None)
        if decoy is None:
            return Lookup(None, None)
        opened = await open_sealed(self._wrapper, _sealed(str(decoy["object_id"]), decoy))
        return Lookup(None, opened.password_hash)

    async def count(self) -> int:
        """Rows in the table (a full scan: for tests and operators, not the request path)."""
        n = 0
        async for _ in self._table.list_entities(select=["PartitionKey"]):
            n += 1
        return n

    # -- KEK rotation -------------------------------------------------------------------------------

    async def current_kek_id(self) -> str:
        return await self._wrapper.current_kek_id()

    def retired_kek_ids(self) -> list[str]:
        """The older KEKs this vault's wrapper holds (a local key ring); Key Vault's versions are not listed."""
        return list(getattr(self._wrapper, "retired_ids", []))

    async def kek_counts(self) -> dict[str, int]:
        """Rows per KEK id (a full scan of one property): a retired KEK with no rows left can be deleted."""
        counts: dict[str, int] = {}
        async for entity in self._table.list_entities(select=["kek_id"]):
            kek = str(entity["kek_id"])
            counts[kek] = counts.get(kek, 0) + 1
        return counts

    async def rewrap(self) -> Rewrap:
        """Wrap every row's data key with the current KEK (ciphertexts untouched). Idempotent; safe beside writers."""
        current = await self._wrapper.current_kek_id()
        report = Rewrap(current)
        pending: list[Mapping[str, Any]] = []
        async for entity in self._table.list_entities(select=list(PROPERTIES)):
            if str(entity["kek_id"]) == current:
                report.already_current += 1
                continue
            pending.append(entity)
            if len(pending) >= MAX_BATCH:
                await asyncio.gather(*(self._rewrap_row(e, report) for e in pending))
                pending = []
        await asyncio.gather(*(self._rewrap_row(e, report) for e in pending))
        return report

    async def _rewrap_row(self, entity: Mapping[str, Any], report: Rewrap) -> None:
        object_id = str(entity["object_id"])
        try:
            moved = await rewrapped(self._wrapper, _sealed(object_id, entity))
        except KeyUnwrapFailed:
            report.unopenable += 1
            return
        partition, row = credential_keys(object_id)
        change = {"PartitionKey": partition, "RowKey": row, "kek_id": moved.kek_id, "wrapped_dek": moved.wrapped_dek}
        try:
            async with self._limit:
                await self._table.update_entity(
                    change, mode=UpdateMode.MERGE, etag=entity.metadata["etag"],  # type: ignore[attr-defined]
                    match_condition=MatchConditions.IfNotModified,
                )  # fmt: skip
        except (ResourceModifiedError, ResourceNotFoundError):
            report.changed_meanwhile += 1
            return
        report.rewrapped += 1

    # -- rows ---------------------------------------------------------------------------------------

    async def _upsert_batch(self, rows: list[dict[str, Any]]) -> None:
        async with self._limit:
            await self._table.submit_transaction([("upsert", row, {"mode": UpdateMode.REPLACE}) for row in rows])

    async def _point_read(self, object_id: str) -> Mapping[str, Any] | None:
        partition, row = credential_keys(object_id)
        try:
            async with self._limit:
                return await self._table.get_entity(partition, row, select=list(PROPERTIES))
        except ResourceNotFoundError:
            return None

    async def _first(self, partition: str | None) -> Mapping[str, Any] | None:
        """The first row of a partition (or of the table, for None)."""
        async with self._limit:
            if partition is None:
                pages = self._table.list_entities(results_per_page=1, select=list(PROPERTIES))
            else:
                pages = self._table.query_entities(
                    "PartitionKey eq @pk", parameters={"pk": partition}, results_per_page=1, select=list(PROPERTIES)
                )
            async for entity in pages:
                return entity
        return None


def _entity(sealed: Sealed) -> dict[str, Any]:
    partition, row = credential_keys(sealed.object_id)
    return {
        "PartitionKey": partition,
        "RowKey": row,
        "object_id": sealed.object_id,
        "kek_id": sealed.kek_id,
        "wrapped_dek": sealed.wrapped_dek,
        "sealed": sealed.sealed,
    }


def _sealed(object_id: str, entity: Mapping[str, Any]) -> Sealed:
    # The object id the caller asked for (not the stored copy) is what the ciphertext must be bound to.
    return Sealed(object_id, str(entity["kek_id"]), bytes(entity["wrapped_dek"]), bytes(entity["sealed"]))
