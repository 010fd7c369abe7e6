"""Attempts of the JIT endpoint: Entra-retry dedupe and the outcome log, locally or shared by every instance.

Entra calls an OnPasswordSubmit extension with a timeout (at most 2,000 ms) and retries it once
(`customExtensionClientConfiguration`: `timeoutInMilliseconds`, `maximumRetries`; MicrosoftDocs/entra-docs
docs/identity-platform/custom-extension-overview.md, microsoft-graph-docs-contrib
api-reference/v1.0/resources/customextensionclientconfiguration.md). The retry may reach another Functions
instance: it must find the first delivery's claim (same correlation id + fingerprint) so a wrong password is
counted once against the lockout and a decided attempt is answered with the same action.

`AttemptStore` is the port PasswordDecider (claim / settle / release / purge) and JitService (record_outcome,
outcomes) use. `SqliteAttempts` keeps both in the endpoint's own jit.db. `TableAttempts` keeps them in one
Table (JIT__ATTEMPTS_TABLE) every instance shares:

* attempts: PartitionKey `attempt|<escaped correlation id>`, RowKey = the fingerprint in hex (an HMAC-SHA256
  under JIT__ATTEMPT_KEY of correlation id, object id and password: neither the key nor the password can be
  read back from it), properties `object_id`, `created_at`, and once decided `action`, `reason`. Claiming is a
  conditional insert (`create_entity`: 409 → read what is there); a row older than RETRY_WINDOW_S counts as
  absent and is taken over under its ETag, so two instances never both think they own it. `purge` deletes
  rows older than the window (ETag-checked, a bounded page per call); reads never depend on it.
* outcomes: PartitionKey `outcome|<UTC hour, YYYY-MM-DDTHH>`, RowKey `<microseconds since epoch, 20
  digits>|<random>`, properties `at`, `correlation_id`, `object_id`, `action`, `reason`, `latency_ms`: one
  partition per hour, so reading a recent window touches a few partitions and old hours can be dropped whole.

No password, hash, token, username or key is stored, logged or put in an exception's text.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any, Protocol

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.data.tables import UpdateMode

from shared.adapters.tables import OneTable, escape_key, if_unchanged
from shared.jit.state import JitStateStore, Outcome, PriorAttempt

ATTEMPT_PREFIX = "attempt|"
OUTCOME_PREFIX = "outcome|"
RETRIES = 8  # a claim races only with the same attempt's other delivery: a few rounds settle it
PURGE_PAGE = 1000  # rows deleted per purge call at most (one page of the query)
PURGE_CONCURRENCY = 8


class AttemptContention(RuntimeError):
    """An attempt's row kept changing under a claim (the endpoint answers with an error, Entra retries)."""


class AttemptStore(Protocol):
    async def claim(
        self, correlation_id: str, fingerprint: bytes, object_id: str, now: float, *, window_s: float
    ) -> PriorAttempt | None:
        """Register a new attempt; None when it is new, else what the earlier delivery decided (action None:
        still being decided). A claim older than `window_s` counts as absent."""

    async def settle(self, correlation_id: str, fingerprint: bytes, action: str, reason: str) -> None: ...

    async def release(self, correlation_id: str, fingerprint: bytes) -> None:
        """Forget an attempt that was not decided (throttled), so its retry is a fresh attempt."""

    async def purge(self, older_than: float) -> None: ...
    async def record_outcome(self, outcome: Outcome) -> None: ...

    async def outcomes(self, since: float | None = None) -> list[Outcome]:
        """Outcomes recorded at or after `since` (all when None), oldest first."""

    async def close(self) -> None: ...


class SqliteAttempts:
    """The local endpoint's attempts and outcomes, in its JitStateStore (jit.db)."""

    def __init__(self, state: JitStateStore) -> None:
        self._state = state

    async def claim(
        self, correlation_id: str, fingerprint: bytes, object_id: str, now: float, *, window_s: float
    ) -> PriorAttempt | None:
        return self._state.claim(correlation_id, fingerprint, object_id, now, window_s=window_s)

    async def settle(self, correlation_id: str, fingerprint: bytes, action: str, reason: str) -> None:
        self._state.settle(correlation_id, fingerprint, action, reason)

    async def release(self, correlation_id: str, fingerprint: bytes) -> None:
        self._state.release(correlation_id, fingerprint)

    async def purge(self, older_than: float) -> None:
        self._state.purge(older_than)

    async def record_outcome(self, outcome: Outcome) -> None:
        self._state.record_outcome(outcome)

    async def outcomes(self, since: float | None = None) -> list[Outcome]:
        return self._state.outcomes(since)

    async def close(self) -> None:
        self._state.close()


def attempt_keys(correlation_id: str, fingerprint: bytes) -> tuple[str, str]:
    return ATTEMPT_PREFIX + escape_key(correlation_id), fingerprint.hex()


def outcome_partition(at: float) -> str:
    return OUTCOME_PREFIX + datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H")


class TableAttempts(OneTable):
    """`AttemptStore` on a Table shared by every instance. Build with `from_connection_string` or `from_account_url`."""

    async def _row(self, partition: str, row: str) -> Mapping[str, Any] | None:
        try:
            return await self._table.get_entity(partition, row)
        except ResourceNotFoundError:
            return None

    async def claim(
        self, correlation_id: str, fingerprint: bytes, object_id: str, now: float, *, window_s: float
    ) -> PriorAttempt | None:
        partition, row_key = attempt_keys(correlation_id, fingerprint)
        entity = {"PartitionKey": partition, "RowKey": row_key, "object_id": object_id, "created_at": now}
        for _ in range(RETRIES):
            try:
                await self._table.create_entity(entity)  # the conditional insert: 409 when a delivery got here first
                return None
            except ResourceExistsError:
                pass
            row = await self._row(partition, row_key)
            if row is None:
                continue  # released or purged in between: claim afresh
            if float(row.get("created_at", 0.0)) >= now - window_s:
                return PriorAttempt(row.get("action"), row.get("reason"))
            try:  # expired: a new attempt, taken over only if nobody else did since the read
                await self._table.update_entity(entity, **if_unchanged(row))
                return None
            except HttpResponseError as exc:
                if exc.status_code not in (404, 412):
                    raise
        raise AttemptContention("retry dedupe row contended")

    async def settle(self, correlation_id: str, fingerprint: bytes, action: str, reason: str) -> None:
        partition, row_key = attempt_keys(correlation_id, fingerprint)
        entity = {"PartitionKey": partition, "RowKey": row_key, "action": action, "reason": reason}
        with suppress(ResourceNotFoundError):  # purged already: nothing left to replay
            await self._table.update_entity(entity, mode=UpdateMode.MERGE)

    async def release(self, correlation_id: str, fingerprint: bytes) -> None:
        partition, row_key = attempt_keys(correlation_id, fingerprint)
        row = await self._row(partition, row_key)
        if row is None or row.get("action") is not None:
            return  # a decided attempt is kept: its retry replays the decision
        await self._delete_unchanged(row)

    async def _delete_unchanged(self, row: Mapping[str, Any]) -> None:
        etag = row.metadata["etag"]  # type: ignore[attr-defined]
        try:
            await self._table.delete_entity(
                row["PartitionKey"], row["RowKey"], etag=etag, match_condition=MatchConditions.IfNotModified
            )
        except HttpResponseError as exc:
            if exc.status_code not in (404, 412):  # gone, or claimed/settled again since: leave it
                raise

    async def purge(self, older_than: float) -> None:
        query = "PartitionKey ge @lo and PartitionKey lt @hi and created_at lt @old"
        params = {"lo": ATTEMPT_PREFIX, "hi": ATTEMPT_PREFIX[:-1] + "}", "old": older_than}
        stale: list[Mapping[str, Any]] = []
        async for row in self._table.query_entities(
            query, parameters=params, select=["PartitionKey", "RowKey"], results_per_page=PURGE_PAGE
        ):
            stale.append(row)
            if len(stale) >= PURGE_PAGE:
                break
        limit = asyncio.Semaphore(PURGE_CONCURRENCY)

        async def drop(row: Mapping[str, Any]) -> None:
            async with limit:
                await self._delete_unchanged(row)

        await asyncio.gather(*(drop(row) for row in stale))

    async def record_outcome(self, outcome: Outcome) -> None:
        entity: dict[str, Any] = {
            "PartitionKey": outcome_partition(outcome.at),
            "RowKey": f"{round(outcome.at * 1_000_000):020d}|{secrets.token_hex(6)}",
            "at": outcome.at, "action": outcome.action, "reason": outcome.reason, "latency_ms": outcome.latency_ms,
        }  # fmt: skip
        if outcome.correlation_id is not None:
            entity["correlation_id"] = outcome.correlation_id
        if outcome.object_id is not None:
            entity["object_id"] = outcome.object_id
        await self._table.create_entity(entity)

    async def outcomes(self, since: float | None = None) -> list[Outcome]:
        params: dict[str, Any] = {
            "lo": OUTCOME_PREFIX if since is None else outcome_partition(since),
            "hi": OUTCOME_PREFIX[:-1] + "}",
        }
        query = "PartitionKey ge @lo and PartitionKey lt @hi"
        if since is not None:
            query += " and at ge @since"
            params["since"] = float(since)
        found = [
            Outcome(
                float(e["at"]), e.get("correlation_id"), e.get("object_id"), e["action"], e["reason"],
                float(e["latency_ms"]),
            )
            async for e in self._table.query_entities(query, parameters=params)
        ]  # fmt: skip
        return sorted(found, key=lambda o: o.at)
