"""R27 on Table Storage (Azurite): the JIT lockout threshold holds per account across Functions instances.

Two endpoint instances, each with its own jit.db (retry dedupe) as a Functions instance has, share the
vault and the lockout Table. Ten wrong passwords spread over both lock the account: the 11th is Blocked on
either. With per-instance counters (the old wiring) the same sequence is still answered Retry — the
threshold would multiply by the instance count. Concurrent failures from two clients lose no increment.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from pathlib import Path

import bcrypt
from azure.data.tables.aio import TableClient
from pydantic import SecretStr

from shared.config import JitSettings
from shared.jit.decision import PasswordDecider
from shared.jit.lockout import Lockouts, TableLockouts
from shared.jit.password_context import PasswordContext
from shared.jit.protocol import Action
from shared.jit.state import JitStateStore
from shared.records import PasswordHash
from shared.telemetry import TallyTelemetry
from shared.vault import LocalKeyWrapper, TableCredentialVault
from tests.integration.test_table_vault_azurite import credential

SETTINGS = JitSettings(DUMMY_BCRYPT_COST=4, LOCKOUT_THRESHOLD=10)
PASSWORD = "Str0ng-Pass-42!"


async def _endpoints(
    table: TableClient, tmp_path: Path, lockouts: list[Lockouts | None]
) -> tuple[list[PasswordDecider], list[JitStateStore]]:
    vault = TableCredentialVault(table, LocalKeyWrapper.from_key_file(tmp_path / "kek.key"))
    hashed = PasswordHash(algorithm="bcrypt", value=SecretStr(bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()))  # noqa: E501
    await vault.store(credential("oid-brute", hashed))
    key = secrets.token_bytes(32)
    states = [JitStateStore(tmp_path / f"instance-{n}" / "jit.db") for n in range(2)]
    deciders = [PasswordDecider(SETTINGS, vault, state, TallyTelemetry(), attempt_key=key, lockouts=counter)
                for state, counter in zip(states, lockouts, strict=True)]  # fmt: skip
    return deciders, states


async def _decide(decider: PasswordDecider, password: str) -> tuple[Action | None, str]:
    d = await decider.decide("oid-brute", str(uuid.uuid4()), PasswordContext(SecretStr(password), None, "n"))
    return d.action, d.reason


async def _brute_force(deciders: list[PasswordDecider]) -> list[tuple[Action | None, str]]:
    for n in range(SETTINGS.LOCKOUT_THRESHOLD):  # alternating instances, as a load balancer spreads them
        assert await _decide(deciders[n % 2], f"wrong-Pass-{n}!") == (Action.RETRY, "wrong_password")
    return [await _decide(decider, PASSWORD) for decider in deciders]  # the 11th attempt, on either instance


async def test_the_11th_wrong_password_on_either_instance_is_blocked(
    table: TableClient, azurite_connection_string: str, tmp_path: Path
) -> None:
    name = f"l{uuid.uuid4().hex}"
    shared = [TableLockouts.from_connection_string(azurite_connection_string, name) for _ in range(2)]
    await shared[0].ensure_table()
    deciders, states = await _endpoints(table, tmp_path, list(shared))
    try:
        after = await _brute_force(deciders)
        assert after == [(Action.BLOCK, "locked_out")] * 2, after
    finally:
        for state in states:
            state.close()
        for counter in shared:
            await counter.close()


async def test_per_instance_counters_would_let_the_11th_through(table: TableClient, tmp_path: Path) -> None:
    deciders, states = await _endpoints(table, tmp_path, [None, None])  # each instance's own jit.db
    try:
        after = await _brute_force(deciders)
        assert after[0][0] is Action.MIGRATE_PASSWORD, "5 failures per instance: below the threshold on each"
    finally:
        for state in states:
            state.close()


async def test_concurrent_failures_from_two_clients_lose_no_increment(azurite_connection_string: str) -> None:
    name = f"l{uuid.uuid4().hex}"
    clients = [TableLockouts.from_connection_string(azurite_connection_string, name) for _ in range(2)]
    await clients[0].ensure_table()
    try:
        counts = await asyncio.gather(*(
            clients[n % 2].record_failure("oid-race", 1000.0 + n / 100, threshold=25, window_s=900, lock_s=900)
            for n in range(30)
        ))  # fmt: skip
        assert sorted(counts) == list(range(1, 31)), "each failure counted once, none lost"
        assert await clients[1].locked("oid-race", 1001.0) and not await clients[0].locked("oid-race", 1000.0 + 901)
        await clients[0].clear_failures("oid-race")
        assert not await clients[1].locked("oid-race", 1001.0)
    finally:
        for client in clients:
            await client.close()
