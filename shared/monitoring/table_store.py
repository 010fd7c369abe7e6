"""TableMonitorStore: the MonitorStore every Functions instance shares (Table Storage, MONITOR_TABLE).

Partitions: `cursor` (RowKey = stage cursor name), `seen` (RowKey = escaped sign-in id, `created`),
`points|<name>|<yyyymmddHH>` (one row per metric point, dimensions as JSON), `user` (RowKey = user id,
`succeeded`), `alert` (RowKey = escaped `key|window`).

Two instances reading the same page at once (R14 across instances): a claim first writes the sign-in's
points under keys derived from its id (`<sign-in id>|<n>`: upserts, so a repeat or the other instance
writes the same rows again, never more rows), then inserts its `seen` row; the instance whose insert finds
the row already there reports the sign-in as not claimed. A crash between the two leaves points without a
`seen` row; the repeated read rewrites the same rows. So no sign-in is counted twice and none is lost.
Run-level points (gauges, stage runs) get random keys: each is a distinct observation. `note_users` is
upserts, so concurrent callers agree. One notification per (key, window): `record_alert` inserts, a second
insert is a no-op.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from shared.adapters.tables import CONCURRENT_REQUESTS, MAX_BATCH, ROW_KEYS_PER_QUERY, OneTable, escape_key
from shared.messages import AlertRaised
from shared.monitoring.store import MetricPoint, SignInClaim

CURSORS, SEEN, USERS, ALERTS = "cursor", "seen", "user", "alert"


def points_partition(name: str, at: datetime) -> str:
    return f"points|{escape_key(name)}|{at.astimezone(UTC):%Y%m%d%H}"


def _point_row(point: MetricPoint, key: str) -> dict[str, Any]:
    at = point.at.astimezone(UTC)
    return {
        "PartitionKey": points_partition(point.name, at),
        "RowKey": key,
        "name": point.name,
        "at": at.timestamp(),
        "value": float(point.value),
        "dims": json.dumps(point.dimensions, sort_keys=True),
    }


class TableMonitorStore(OneTable):
    """`MonitorStore` port on one table. Build with `from_connection_string` (Azurite) or `from_account_url`."""

    def __init__(self, table: TableClient) -> None:
        super().__init__(table)
        self._limit = asyncio.Semaphore(CONCURRENT_REQUESTS)

    async def get_cursor(self, name: str) -> str | None:
        try:
            entity = await self._table.get_entity(CURSORS, escape_key(name))
        except ResourceNotFoundError:
            return None
        return str(entity["value"])

    async def put_cursor(self, name: str, value: str) -> None:
        await self._table.upsert_entity({"PartitionKey": CURSORS, "RowKey": escape_key(name), "value": value})

    async def unseen(self, ids: Sequence[str]) -> set[str]:
        wanted = list(dict.fromkeys(ids))
        groups = [wanted[i : i + ROW_KEYS_PER_QUERY] for i in range(0, len(wanted), ROW_KEYS_PER_QUERY)]
        found: set[str] = set()
        for rows in await asyncio.gather(*(self._seen_of(group) for group in groups)):
            found.update(rows)
        return set(wanted) - found

    async def _seen_of(self, ids: list[str]) -> set[str]:
        params: dict[str, Any] = {"pk": SEEN}
        clauses = []
        for n, sign_in in enumerate(ids):
            params[f"r{n}"] = escape_key(sign_in)
            clauses.append(f"RowKey eq @r{n}")
        query = f"PartitionKey eq @pk and ({' or '.join(clauses)} )"  # the SDK substitutes space-separated @words
        async with self._limit:
            rows = [e async for e in self._table.query_entities(query, parameters=params, select=["sign_in"])]
        return {str(e["sign_in"]) for e in rows}

    async def claim_sign_ins(self, claims: Sequence[SignInClaim], points: Sequence[MetricPoint] = ()) -> set[str]:
        results = await asyncio.gather(*(self._claim(claim) for claim in claims))
        await self.add_points(points)
        return {claim.sign_in.id for claim, won in zip(claims, results, strict=True) if won}

    async def _claim(self, claim: SignInClaim) -> bool:
        seen = claim.sign_in
        # The points first, under keys only this sign-in produces: rewriting them is harmless, losing them is not.
        await self._upsert_all([_point_row(p, f"{escape_key(seen.id)}|{n}") for n, p in enumerate(claim.points)])
        row = {"PartitionKey": SEEN, "RowKey": escape_key(seen.id), "sign_in": seen.id,
               "created": seen.created.astimezone(UTC).timestamp()}  # fmt: skip
        try:
            async with self._limit:
                await self._table.create_entity(row)
        except ResourceExistsError:
            return False
        return True

    async def _upsert_all(self, rows: Sequence[dict[str, Any]]) -> None:
        by_partition: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            by_partition.setdefault(row["PartitionKey"], []).append(row)
        batches = [part[i : i + MAX_BATCH] for part in by_partition.values() for i in range(0, len(part), MAX_BATCH)]
        await asyncio.gather(*(self._upsert_batch(batch) for batch in batches))

    async def _upsert_batch(self, rows: list[dict[str, Any]]) -> None:
        async with self._limit:
            await self._table.submit_transaction([("upsert", row, {"mode": UpdateMode.REPLACE}) for row in rows])

    async def forget_sign_ins_before(self, created: datetime) -> None:
        query = "PartitionKey eq @pk and created lt @before"
        params = {"pk": SEEN, "before": created.astimezone(UTC).timestamp()}
        rows = [e async for e in self._table.query_entities(query, parameters=params, select=["RowKey"])]

        async def drop(row: str) -> None:  # one by one: another instance may be pruning the same rows
            async with self._limit:
                await self._table.delete_entity(SEEN, row)  # a row already gone is no error

        await asyncio.gather(*(drop(e["RowKey"]) for e in rows))

    async def add_points(self, points: Sequence[MetricPoint]) -> None:
        await self._upsert_all([_point_row(p, uuid.uuid4().hex) for p in points])

    async def points(self, name: str, since: datetime, until: datetime) -> list[MetricPoint]:
        # One range query over the name's hourly partitions (their keys sort by hour).
        query = "PartitionKey ge @first and PartitionKey le @last and at ge @lo and at lt @hi"
        params = {"first": points_partition(name, since), "last": points_partition(name, until),
                  "lo": since.astimezone(UTC).timestamp(), "hi": until.astimezone(UTC).timestamp()}  # fmt: skip
        found = [
            MetricPoint(str(e["name"]), datetime.fromtimestamp(float(e["at"]), UTC), float(e["value"]),
                        json.loads(e["dims"]))
            async for e in self._table.query_entities(query, parameters=params)
        ]  # fmt: skip
        return sorted(found, key=lambda p: p.at)

    async def note_users(self, attempted: Sequence[str], succeeded: Sequence[str]) -> tuple[int, int]:
        rows: list[dict[str, Any]] = [{"PartitionKey": USERS, "RowKey": escape_key(u)} for u in set(attempted)]
        rows += [{"PartitionKey": USERS, "RowKey": escape_key(u), "succeeded": True} for u in dict.fromkeys(succeeded)]
        for i in range(0, len(rows), MAX_BATCH):  # MERGE: a user who once succeeded stays succeeded
            batch = {r["RowKey"]: r for r in rows[i : i + MAX_BATCH]}  # one operation per row in a transaction
            merges = [("upsert", r, {"mode": UpdateMode.MERGE}) for r in batch.values()]
            async with self._limit:
                await self._table.submit_transaction(merges)
        tried = done = 0
        async for e in self._table.query_entities("PartitionKey eq @pk", parameters={"pk": USERS},
                                                  select=["RowKey", "succeeded"]):  # fmt: skip
            tried += 1
            done += bool(e.get("succeeded"))
        return tried, done

    async def notification_sent(self, key: str, window: str) -> bool:
        try:
            await self._table.get_entity(ALERTS, escape_key(f"{key}|{window}"))
        except ResourceNotFoundError:
            return False
        return True

    async def record_alert(self, alert: AlertRaised, *, delivered: bool) -> None:
        row = {"PartitionKey": ALERTS, "RowKey": escape_key(f"{alert.key}|{alert.window}"),
               "alert": alert.model_dump_json(), "delivered": delivered}  # fmt: skip
        with suppress(ResourceExistsError):
            await self._table.create_entity(row)

    async def alerts(self) -> list[AlertRaised]:
        """Every alert notified, oldest first."""
        rows = [e async for e in self._table.query_entities("PartitionKey eq @pk", parameters={"pk": ALERTS})]
        return sorted((AlertRaised.model_validate_json(e["alert"]) for e in rows), key=lambda a: a.raised_at)
