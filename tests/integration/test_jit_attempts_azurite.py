"""Entra-retry dedupe and the outcome log shared by every instance (TableAttempts on Azurite), against jit.db.

The same contract runs on both AttemptStores. Then the must-show: two endpoint instances (two PasswordDeciders,
each with its own Table clients) over one attempts Table and one lockout Table — Entra's retry of an attempt
reaching the other instance replays the first decision and the wrong password is counted once, not twice;
a control with per-instance jit.db shows the same retry counted twice. Nothing secret is stored or logged.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import bcrypt
import pytest
from azure.data.tables.aio import TableClient
from pydantic import SecretStr

from shared.config import JitSettings
from shared.jit.attempts import AttemptStore, SqliteAttempts, TableAttempts, outcome_partition
from shared.jit.decision import PasswordDecider
from shared.jit.lockout import TableLockouts
from shared.jit.password_context import PasswordContext
from shared.jit.protocol import Action
from shared.jit.state import JitStateStore, Outcome, PriorAttempt
from shared.records import PasswordHash
from shared.telemetry import TallyTelemetry
from shared.vault import LocalKeyWrapper, TableCredentialVault
from tests.integration.test_table_vault_azurite import credential

SETTINGS = JitSettings(DUMMY_BCRYPT_COST=4, LOCKOUT_THRESHOLD=10)
PASSWORD = "Str0ng-Pass-42!"
WRONG = "wrong-Canary-Pass-7!"
FP, OTHER_FP = secrets.token_bytes(32), secrets.token_bytes(32)
T0 = 1_780_000_000.0
_KEY = secrets.token_bytes(32)  # the fingerprint key both instances share (JIT__ATTEMPT_KEY)


@pytest.fixture(params=["sqlite", "table"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AttemptStore]:
    attempts: AttemptStore
    if request.param == "sqlite":
        attempts = SqliteAttempts(JitStateStore(tmp_path / "jit.db"))
    else:
        connection: str = request.getfixturevalue("azurite_connection_string")
        attempts = TableAttempts.from_connection_string(connection, f"a{uuid.uuid4().hex}")
        await attempts.ensure_table()
    try:
        yield attempts
    finally:
        await attempts.close()


# ---------------------------------------------------------------------------------------------- the contract


async def test_a_second_delivery_sees_the_claim_then_the_decision(store: AttemptStore) -> None:
    assert await store.claim("corr-1", FP, "oid-1", T0, window_s=300) is None
    assert await store.claim("corr-1", FP, "oid-1", T0 + 1, window_s=300) == PriorAttempt(None, None)
    assert await store.claim("corr-1", OTHER_FP, "oid-1", T0 + 1, window_s=300) is None, "another password"
    assert await store.claim("corr-2", FP, "oid-1", T0 + 1, window_s=300) is None, "another correlation id"
    await store.settle("corr-1", FP, "Retry", "wrong_password")
    assert await store.claim("corr-1", FP, "oid-1", T0 + 2, window_s=300) == PriorAttempt("Retry", "wrong_password")


async def test_release_forgets_only_an_undecided_attempt(store: AttemptStore) -> None:
    await store.claim("corr-t", FP, "oid-1", T0, window_s=300)
    await store.release("corr-t", FP)  # throttled: its retry is a fresh attempt
    assert await store.claim("corr-t", FP, "oid-1", T0 + 1, window_s=300) is None
    await store.settle("corr-t", FP, "MigratePassword", "verified")
    await store.release("corr-t", FP)
    assert await store.claim("corr-t", FP, "oid-1", T0 + 2, window_s=300) == PriorAttempt(
        "MigratePassword", "verified"
    )


async def test_a_claim_past_the_retry_window_counts_as_absent_without_a_purge(store: AttemptStore) -> None:
    await store.claim("corr-w", FP, "oid-1", T0, window_s=300)
    await store.settle("corr-w", FP, "Retry", "wrong_password")
    assert await store.claim("corr-w", FP, "oid-1", T0 + 301, window_s=300) is None, "window over: a new attempt"
    assert await store.claim("corr-w", FP, "oid-1", T0 + 302, window_s=300) == PriorAttempt(None, None)


async def test_purge_drops_rows_older_than_the_window(store: AttemptStore) -> None:
    await store.claim("corr-old", FP, "oid-1", T0, window_s=300)
    await store.claim("corr-new", FP, "oid-1", T0 + 100, window_s=300)
    await store.purge(T0 + 50)
    assert await store.claim("corr-old", FP, "oid-1", T0 + 101, window_s=10_000) is None, "purged"
    assert await store.claim("corr-new", FP, "oid-1", T0 + 101, window_s=10_000) == PriorAttempt(None, None)


async def test_outcomes_read_back_oldest_first_and_since_a_time(store: AttemptStore) -> None:
    recorded = [
        Outcome(T0 + 7200.5, "corr-c", "oid-3", "Block", "locked_out", 3.0),
        Outcome(T0, "corr-a", "oid-1", "Retry", "wrong_password", 12.5),
        Outcome(T0 + 3600.25, None, None, "Unauthorized", "token_expired", 0.5),
    ]
    assert len({outcome_partition(o.at) for o in recorded}) == 3, "the sample spans three hours"
    for outcome in recorded:
        await store.record_outcome(outcome)
    assert await store.outcomes() == sorted(recorded, key=lambda o: o.at)
    assert await store.outcomes(since=T0 + 3600) == sorted(recorded[0::2], key=lambda o: o.at)


async def test_concurrent_claims_of_one_attempt_have_one_winner(store: AttemptStore) -> None:
    results = await asyncio.gather(*(store.claim("corr-race", FP, "oid-1", T0, window_s=300) for _ in range(6)))
    assert results.count(None) == 1 and results.count(PriorAttempt(None, None)) == 5


# ---------------------------------------------------------------------------------------------- two instances


class _Endpoints:
    def __init__(self, deciders: list[PasswordDecider], lockouts: TableLockouts, closers: list[Any]) -> None:
        self.deciders, self.lockouts, self.closers = deciders, lockouts, closers

    async def failures(self) -> int:
        row = await self.lockouts._table.get_entity("lockout", "oid-brute")  # the shared counter's row
        return int(row["count"])


async def _endpoints(table: TableClient, connection: str, tmp_path: Path, *, shared_attempts: bool) -> _Endpoints:
    vault = TableCredentialVault(table, LocalKeyWrapper.from_key_file(tmp_path / "kek.key"))
    hashed = PasswordHash(
        algorithm="bcrypt", value=SecretStr(bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode())
    )
    await vault.store(credential("oid-brute", hashed))
    lockout_name, attempts_name = f"l{uuid.uuid4().hex}", f"a{uuid.uuid4().hex}"
    deciders, closers = [], []
    for n in range(2):  # each instance opens its own clients, as each Functions instance does
        lockouts = TableLockouts.from_connection_string(connection, lockout_name)
        await lockouts.ensure_table()
        attempts: AttemptStore
        if shared_attempts:
            attempts = TableAttempts.from_connection_string(connection, attempts_name)
            await attempts.ensure_table()
        else:
            attempts = SqliteAttempts(JitStateStore(tmp_path / f"instance-{n}" / "jit.db"))
        decider = PasswordDecider(
            SETTINGS, vault, None, TallyTelemetry(), attempt_key=_KEY, lockouts=lockouts, attempts=attempts
        )
        deciders.append(decider)
        closers += [decider, attempts, lockouts]
    return _Endpoints(deciders, TableLockouts.from_connection_string(connection, lockout_name), closers)


async def _close(endpoints: _Endpoints) -> None:
    for closer in [*endpoints.closers, endpoints.lockouts]:
        await closer.close()


async def _decide(decider: PasswordDecider, correlation_id: str, password: str) -> tuple[Action | None, str]:
    d = await decider.decide("oid-brute", correlation_id, PasswordContext(SecretStr(password), None, "n"))
    return d.action, d.reason


async def test_an_entra_retry_on_the_other_instance_replays_the_decision_and_counts_once(
    table: TableClient, azurite_connection_string: str, tmp_path: Path
) -> None:
    endpoints = await _endpoints(table, azurite_connection_string, tmp_path, shared_attempts=True)
    a, b = endpoints.deciders
    try:
        wrong = str(uuid.uuid4())
        assert await _decide(a, wrong, WRONG) == (Action.RETRY, "wrong_password")
        assert await _decide(b, wrong, WRONG) == (Action.RETRY, "retry_replayed"), "B sees A's decision"
        assert await endpoints.failures() == 1, "one failure, not two"

        both = str(uuid.uuid4())  # the retry arrives while the first delivery is still verifying
        answers = await asyncio.gather(_decide(a, both, WRONG + "x"), _decide(b, both, WRONG + "x"))
        assert {action for action, _ in answers} == {Action.RETRY}
        assert await endpoints.failures() == 2, "the concurrent pair counted once"

        right = str(uuid.uuid4())
        assert await _decide(b, right, PASSWORD) == (Action.MIGRATE_PASSWORD, "verified")
        # The hash is deleted once migrated: without the shared claim A would answer Retry (no_credential).
        assert await _decide(a, right, PASSWORD) == (Action.MIGRATE_PASSWORD, "retry_replayed")
    finally:
        await _close(endpoints)


async def test_per_instance_dedupe_would_count_the_retry_twice(
    table: TableClient, azurite_connection_string: str, tmp_path: Path
) -> None:
    endpoints = await _endpoints(table, azurite_connection_string, tmp_path, shared_attempts=False)
    a, b = endpoints.deciders
    try:
        wrong = str(uuid.uuid4())
        assert await _decide(a, wrong, WRONG) == (Action.RETRY, "wrong_password")
        assert await _decide(b, wrong, WRONG) == (Action.RETRY, "wrong_password"), "B never saw A's claim"
        assert await endpoints.failures() == 2
    finally:
        await _close(endpoints)


async def test_no_secret_in_the_stored_entities_or_the_logs(
    table: TableClient, azurite_connection_string: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    endpoints = await _endpoints(table, azurite_connection_string, tmp_path, shared_attempts=True)
    a, b = endpoints.deciders
    try:
        for correlation_id in (str(uuid.uuid4()), str(uuid.uuid4())):
            await _decide(a, correlation_id, WRONG)
            await _decide(b, correlation_id, WRONG)
        await _decide(a, str(uuid.uuid4()), PASSWORD)
        attempts = next(c for c in endpoints.closers if isinstance(c, TableAttempts))
        await attempts.record_outcome(Outcome(T0, "corr-x", "oid-brute", "Retry", "wrong_password", 1.0))
        entities = [e async for e in attempts._table.list_entities()]
        entities += [e async for e in endpoints.lockouts._table.list_entities()]
        assert any(str(e["PartitionKey"]).startswith("attempt|") for e in entities), "the haystack holds attempts"
        stored = repr([(dict(e), e.metadata) for e in entities])
        haystack = stored + caplog.text + "".join(repr(r.args) for r in caplog.records)
        canaries = {
            "password": PASSWORD, "wrong password": WRONG,
            "key hex": _KEY.hex(), "key base64": base64.b64encode(_KEY).decode(),
        }  # fmt: skip
        assert [name for name, value in canaries.items() if value in haystack] == []
    finally:
        await _close(endpoints)
