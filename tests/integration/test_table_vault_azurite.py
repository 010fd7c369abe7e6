"""The credential vault contract, run against both backends (SQLite file, Azure Table on Azurite), then what is
particular to the Table vault: key design, batching, the Azure wiring (bootstrap and the password-submit Function).

Conformance: round trip, store_many, upsert, idempotent delete, another KEK cannot open, a row moved to another
object id does not open, lookup's decoy on a miss, the Key Vault wrapper at its seam, and no canary bytes at rest.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
import pytest
from azure.data.tables.aio import TableClient
from azure.keyvault.keys.crypto import KeyWrapAlgorithm, UnwrapResult, WrapResult
from pydantic import SecretStr

from shared.bootstrap import open_azure_vault, shared_vault
from shared.config import JitSettings, Settings
from shared.jit.decision import PasswordDecider
from shared.jit.password_context import PasswordContext
from shared.jit.protocol import Action
from shared.jit.state import JitStateStore
from shared.ports import CredentialVault, StoredCredential
from shared.records import PasswordHash
from shared.telemetry import TallyTelemetry
from shared.vault import (
    KeyUnwrapFailed,
    KeyVaultKeyWrapper,
    KeyWrapper,
    LocalKeyWrapper,
    Lookup,
    SqliteCredentialVault,
    TableCredentialVault,
)
from shared.vault.table_vault import MAX_BATCH, PARTITION_BUCKETS, credential_keys

pytestmark = pytest.mark.azurite

STORED_PROPERTIES = {"PartitionKey", "RowKey", "object_id", "kek_id", "wrapped_dek", "sealed"}


def canary_hash(i: int) -> PasswordHash:
    return PasswordHash(
        algorithm="pbkdf2-sha256",
        value=SecretStr(f"CANARYVALUE{i:06d}AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
        salt=SecretStr(f"CANARYSALT{i:06d}"),
        params={"iterations": 27500, "marker": f"CANARYPARAM{i:06d}"},
    )


def credential(
    object_id: str, h: PasswordHash, *, disabled: bool = False, legacy_id: str | None = None
) -> StoredCredential:
    return StoredCredential(
        object_id=object_id,
        source="auth0",
        legacy_id=legacy_id or f"auth0|{object_id}",
        password_hash=h,
        disabled=disabled,
    )


def local_wrapper() -> LocalKeyWrapper:
    return LocalKeyWrapper(secrets.token_bytes(32))


# ---------------------------------------------------------------------------------------------- the two backends


@dataclass
class Backend:
    """One vault's storage, and how a test reaches behind the port: another KEK on the same rows, raw bytes."""

    name: str
    open: Callable[[KeyWrapper], Any]  # a vault over the same storage with this KEK
    raw: Callable[[], Awaitable[bytes]]  # everything at rest, as bytes
    move_row: Callable[[str, str], Awaitable[None]]  # copy one credential's stored fields onto another's row
    count: Callable[[], Awaitable[int]]


def sqlite_backend(path: Path) -> Backend:
    import sqlite3

    async def raw() -> bytes:
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))

    async def move_row(source: str, target: str) -> None:
        db = sqlite3.connect(path)
        row = db.execute("SELECT kek_id, wrapped_dek, sealed FROM credentials WHERE object_id=?", (source,)).fetchone()
        db.execute("UPDATE credentials SET kek_id=?, wrapped_dek=?, sealed=? WHERE object_id=?", (*row, target))
        db.commit()
        db.close()

    async def count() -> int:
        db = sqlite3.connect(path)
        n = int(db.execute("SELECT COUNT(*) FROM credentials").fetchone()[0])
        db.close()
        return n

    return Backend("sqlite", lambda wrapper: SqliteCredentialVault(path, wrapper), raw, move_row, count)


def table_backend(table: TableClient) -> Backend:
    async def raw() -> bytes:
        """Every property of every entity; binary ones also base64-decoded (the service stores them as base64)."""
        parts: list[bytes] = []
        async for entity in table.list_entities():
            for name, value in entity.items():
                parts.append(name.encode())
                if isinstance(value, bytes):
                    parts += [value, base64.b64encode(value)]
                else:
                    parts.append(str(value).encode())
        return b"\x00".join(parts)

    async def move_row(source: str, target: str) -> None:
        stolen = await table.get_entity(*credential_keys(source))
        victim = await table.get_entity(*credential_keys(target))
        fields = {k: stolen[k] for k in ("kek_id", "wrapped_dek", "sealed")}
        await table.update_entity({"PartitionKey": victim["PartitionKey"], "RowKey": victim["RowKey"], **fields})

    async def count() -> int:
        return len([e async for e in table.list_entities()])

    return Backend("table", lambda wrapper: TableCredentialVault(table, wrapper), raw, move_row, count)


@pytest.fixture(params=["sqlite", "table"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        return sqlite_backend(tmp_path / "state" / "vault.db")
    return table_backend(request.getfixturevalue("table"))  # Azurite only for this one


@pytest.fixture
def kek() -> LocalKeyWrapper:
    return local_wrapper()


# ---------------------------------------------------------------------------------------------- conformance


async def test_round_trip_and_idempotent_delete(backend: Backend, kek: LocalKeyWrapper) -> None:
    vault: CredentialVault = backend.open(kek)
    stored = credential("oid-1", canary_hash(1), disabled=True)
    await vault.store(stored)
    loaded = await vault.load("oid-1")
    assert loaded is not None
    assert loaded.password_hash.value.get_secret_value() == stored.password_hash.value.get_secret_value()
    assert loaded.password_hash.salt is not None and loaded.password_hash.salt.get_secret_value() == "CANARYSALT000001"
    assert (loaded.password_hash.params, loaded.disabled, loaded.legacy_id, loaded.source) == (
        {"iterations": 27500, "marker": "CANARYPARAM000001"},
        True,
        "auth0|oid-1",
        "auth0",
    )
    await vault.delete("oid-1")
    assert await vault.load("oid-1") is None
    await vault.delete("oid-1")  # already gone: no error
    await vault.delete("never-stored")
    assert await backend.count() == 0


async def test_store_many_round_trips_every_credential(backend: Backend, kek: LocalKeyWrapper) -> None:
    vault: CredentialVault = backend.open(kek)
    await vault.store_many([credential(f"oid-{i}", canary_hash(i)) for i in range(250)])
    assert await backend.count() == 250
    for i in (0, 99, 100, 249):
        loaded = await vault.load(f"oid-{i}")
        assert loaded is not None and loaded.password_hash.value.get_secret_value().startswith(f"CANARYVALUE{i:06d}")
    await vault.store_many([])


async def test_store_is_an_upsert_and_the_last_of_a_batch_wins(backend: Backend, kek: LocalKeyWrapper) -> None:
    vault: CredentialVault = backend.open(kek)
    await vault.store(credential("oid-1", canary_hash(1)))
    await vault.store(credential("oid-1", canary_hash(2), legacy_id="l2"))
    loaded = await vault.load("oid-1")
    assert await backend.count() == 1 and loaded is not None and loaded.legacy_id == "l2"
    # A redelivered chunk stores the same users again, sometimes twice in one call.
    await vault.store_many([credential("oid-1", canary_hash(3), legacy_id="l3"), credential("oid-1", canary_hash(4))])
    loaded = await vault.load("oid-1")
    assert await backend.count() == 1 and loaded is not None and loaded.legacy_id == "auth0|oid-1"
    assert loaded.password_hash.salt is not None and loaded.password_hash.salt.get_secret_value() == "CANARYSALT000004"


async def test_another_kek_cannot_open(backend: Backend, kek: LocalKeyWrapper) -> None:
    await backend.open(kek).store(credential("oid-1", canary_hash(1)))
    stranger = backend.open(local_wrapper())
    with pytest.raises(KeyUnwrapFailed) as failed:
        await stranger.load("oid-1")
    assert "CANARY" not in str(failed.value)
    with pytest.raises(KeyUnwrapFailed):
        await stranger.lookup("oid-1")


async def test_a_row_moved_to_another_object_id_does_not_open(backend: Backend, kek: LocalKeyWrapper) -> None:
    vault = backend.open(kek)
    await vault.store_many([credential("victim", canary_hash(1)), credential("attacker", canary_hash(2))])
    await backend.move_row("victim", "attacker")
    with pytest.raises(KeyUnwrapFailed):
        await vault.load("attacker")


async def test_lookup_miss_opens_a_decoy_for_timing_but_returns_no_credential(
    backend: Backend, kek: LocalKeyWrapper
) -> None:
    vault = backend.open(kek)
    assert await vault.lookup("nobody") == Lookup(None, None)  # empty vault: the caller falls back to its dummy
    await vault.store(credential("oid-1", canary_hash(1)))
    miss = await vault.lookup("nobody")
    assert miss.credential is None and miss.timing_hash is not None
    hit = await vault.lookup("oid-1")
    assert hit.credential is not None and hit.credential.object_id == "oid-1"
    assert hit.timing_hash == hit.credential.password_hash


async def test_nothing_readable_at_rest_before_and_after_delete(backend: Backend, kek: LocalKeyWrapper) -> None:
    vault = backend.open(kek)
    await vault.store_many([credential(f"oid-{i}", canary_hash(i)) for i in range(200)])
    data = await backend.raw()
    assert b"oid-199" in data  # the raw view does see the rows (object ids are stored in the clear)
    assert b"CANARY" not in data and b"auth0" not in data and b"pbkdf2" not in data and b"27500" not in data
    for i in range(200):
        await vault.delete(f"oid-{i}")
    assert await backend.count() == 0
    assert b"CANARY" not in await backend.raw()


class FakeCryptographyClient:
    """Key Vault's CryptographyClient at its seam: RSA wrap emulated by XOR, calls recorded."""

    key_id = "https://kv.vault.azure.net/keys/jit-kek/0123"

    def __init__(self) -> None:
        self.calls: list[tuple[str, KeyWrapAlgorithm]] = []

    async def wrap_key(self, algorithm: KeyWrapAlgorithm, key: bytes, **_: Any) -> WrapResult:
        self.calls.append(("wrap", algorithm))
        return WrapResult(key_id=self.key_id, algorithm=algorithm, encrypted_key=bytes(b ^ 0x5A for b in key))

    async def unwrap_key(self, algorithm: KeyWrapAlgorithm, encrypted_key: bytes, **_: Any) -> UnwrapResult:
        self.calls.append(("unwrap", algorithm))
        if len(encrypted_key) != 32:
            raise ValueError("bad key")
        return UnwrapResult(key_id=self.key_id, algorithm=algorithm, key=bytes(b ^ 0x5A for b in encrypted_key))


async def test_key_vault_wrapper_at_its_seam(backend: Backend) -> None:
    client = FakeCryptographyClient()
    vault = backend.open(KeyVaultKeyWrapper(client))  # type: ignore[arg-type]
    await vault.store_many([credential(f"oid-{i}", canary_hash(i)) for i in range(3)])
    loaded = await vault.load("oid-2")
    assert loaded is not None and loaded.password_hash.salt is not None
    assert loaded.password_hash.salt.get_secret_value() == "CANARYSALT000002"
    assert client.calls.count(("wrap", KeyWrapAlgorithm.rsa_oaep_256)) == 3
    assert client.calls[-1] == ("unwrap", KeyWrapAlgorithm.rsa_oaep_256)
    assert client.key_id.encode() in await backend.raw()
    # A local KEK over the same rows is another KEK: it refuses rather than mis-opening.
    with pytest.raises(KeyUnwrapFailed):
        await backend.open(local_wrapper()).load("oid-2")


# ---------------------------------------------------------------------------------------------- Table specifics


async def test_entities_hold_only_the_envelope_under_hashed_partitions(
    table: TableClient, kek: LocalKeyWrapper
) -> None:
    vault = TableCredentialVault(table, kek)
    ids = [str(uuid.uuid4()) for _ in range(64)]
    await vault.store_many([credential(i, canary_hash(n)) for n, i in enumerate(ids)])
    entities = [e async for e in table.list_entities()]
    assert len(entities) == 64
    for entity in entities:
        assert set(entity) == STORED_PROPERTIES
        assert (entity["PartitionKey"], entity["RowKey"]) == credential_keys(entity["object_id"])
        assert entity["kek_id"] == kek.kek_id and isinstance(entity["sealed"], bytes)
    partitions = {e["PartitionKey"] for e in entities}
    assert 1 < len(partitions) <= PARTITION_BUCKETS


async def test_store_many_batches_at_most_100_rows_of_one_partition(table: TableClient, kek: LocalKeyWrapper) -> None:
    batches: list[list[tuple[str, str]]] = []
    submit = table.submit_transaction

    async def spy(operations: Any, **kwargs: Any) -> Any:
        ops = list(operations)
        batches.append([(op[1]["PartitionKey"], op[1]["RowKey"]) for op in ops])
        return await submit(ops, **kwargs)

    table.submit_transaction = spy  # type: ignore[method-assign]
    vault = TableCredentialVault(table, kek)
    await vault.store_many([credential(f"oid-{i}", canary_hash(i)) for i in range(2500)])
    assert sum(len(b) for b in batches) == 2500
    assert all(len(b) <= MAX_BATCH and len({pk for pk, _ in b}) == 1 for b in batches)
    assert max(len(b) for b in batches) == MAX_BATCH  # ~156 per partition: full batches were used
    assert len(batches) < 2500 / 50
    loaded = await vault.load("oid-2499")
    assert loaded is not None and loaded.legacy_id == "auth0|oid-2499"


async def test_awkward_object_ids_round_trip(table: TableClient, kek: LocalKeyWrapper) -> None:
    vault = TableCredentialVault(table, kek)
    awkward = ["a/b#c?d\\e", "100%~tilde", "ünïcødé-🙂", "x" * 1024]
    await vault.store_many([credential(oid, canary_hash(n)) for n, oid in enumerate(awkward)])
    for n, oid in enumerate(awkward):
        loaded = await vault.load(oid)
        assert loaded is not None and loaded.object_id == oid
        assert (
            loaded.password_hash.salt is not None
            and loaded.password_hash.salt.get_secret_value() == f"CANARYSALT{n:06d}"
        )
    assert credential_keys("x" * 1024)[1].startswith("~sha256~")
    miss = await vault.lookup("x" * 1023 + "y")  # the decoy is opened under its own (stored) object id
    assert miss.credential is None and miss.timing_hash is not None


async def test_a_miss_in_an_empty_partition_still_opens_a_decoy(table: TableClient, kek: LocalKeyWrapper) -> None:
    vault = TableCredentialVault(table, kek)
    await vault.store(credential("only-one", canary_hash(1)))
    home = credential_keys("only-one")[0]
    elsewhere = next(f"probe-{i}" for i in range(1000) if credential_keys(f"probe-{i}")[0] != home)
    miss = await vault.lookup(elsewhere)
    assert miss.credential is None and miss.timing_hash is not None
    assert miss.timing_hash.salt is not None and miss.timing_hash.salt.get_secret_value() == "CANARYSALT000001"


async def test_the_jit_decision_reads_and_deletes_through_the_table_vault(
    table: TableClient, kek: LocalKeyWrapper, tmp_path: Path
) -> None:
    """What OnPasswordSubmit does with the vault: lookup, verify, and delete after MigratePassword."""
    vault = TableCredentialVault(table, kek)
    password = "Str0ng-Pass-42!"
    hashed = PasswordHash(
        algorithm="bcrypt", value=SecretStr(bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode())
    )
    await vault.store(credential("oid-jit", hashed))
    state = JitStateStore(tmp_path / "jit.db")
    decider = PasswordDecider(
        JitSettings(DUMMY_BCRYPT_COST=4), vault, state, TallyTelemetry(), attempt_key=secrets.token_bytes(32)
    )

    async def decide(object_id: str, attempt: str) -> tuple[Action | None, str]:
        d = await decider.decide(object_id, str(uuid.uuid4()), PasswordContext(SecretStr(attempt), None, "n"))
        return d.action, d.reason

    assert await decide("oid-unknown", password) == (Action.RETRY, "no_credential")
    assert await decide("oid-jit", "wrong-Pass-1!") == (Action.RETRY, "wrong_password")
    assert await decide("oid-jit", password) == (Action.MIGRATE_PASSWORD, "verified")
    assert await vault.load("oid-jit") is None
    state.close()


# ---------------------------------------------------------------------------------------------- Azure wiring


def azure_settings(connection_string: str, table_name: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "STORAGE_CONNECTION_STRING": connection_string,
        "VAULT_TABLE": table_name,
        "GRAPH_URL": "http://127.0.0.1:9",
        "ServiceBusConnection": {"fullyQualifiedNamespace": "ns.servicebus.windows.net"},
        "CHUNK_SEALING_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
async def vault_table(azurite_connection_string: str) -> AsyncIterator[str]:
    name = f"v{uuid.uuid4().hex}"
    client = TableClient.from_connection_string(azurite_connection_string, name)
    await client.create_table()
    try:
        yield name
    finally:
        await client.delete_table()
        await client.close()


async def test_open_azure_vault_from_settings(azurite_connection_string: str, vault_table: str) -> None:
    kek = base64.b64encode(secrets.token_bytes(32)).decode()
    assert open_azure_vault(azure_settings(azurite_connection_string, vault_table)) is None  # no KEK: no vault
    assert open_azure_vault(azure_settings(azurite_connection_string, vault_table, VAULT_KEK="")) is None
    vault = open_azure_vault(azure_settings(azurite_connection_string, vault_table, VAULT_KEK=kek))
    assert isinstance(vault, TableCredentialVault)
    await vault.store(credential("oid-1", canary_hash(1)))
    again = open_azure_vault(azure_settings(azurite_connection_string, vault_table, VAULT_KEK=kek))
    assert again is not None and (await again.load("oid-1")) is not None  # another instance, same rows
    await vault.close()
    await again.close()
    kv = open_azure_vault(
        azure_settings(
            azurite_connection_string,
            vault_table,
            KEY_VAULT_KEY_ID="https://kv.vault.azure.net/keys/k/1",
            VAULT_KEK=kek,
        )
    )
    assert kv is not None and kv._wrapper.kek_id == "https://kv.vault.azure.net/keys/k/1"  # Key Vault wins
    await kv.close()
    with pytest.raises(ValueError, match="STORAGE_CONNECTION_STRING or TABLES_ACCOUNT_URL"):
        open_azure_vault(Settings(VAULT_KEK=kek, STORAGE_CONNECTION_STRING=None, TABLES_ACCOUNT_URL=None))


async def test_azure_runtime_imports_into_the_table_vault(azurite_connection_string: str, vault_table: str) -> None:
    from shared.bootstrap import _build_azure_runtime

    kek = base64.b64encode(secrets.token_bytes(32)).decode()
    runtime = await _build_azure_runtime(azure_settings(azurite_connection_string, vault_table, VAULT_KEK=kek))
    vault = runtime.ports.vault
    assert isinstance(vault, TableCredentialVault)
    await vault.store_many([credential("oid-1", canary_hash(1))])
    assert (await vault.load("oid-1")) is not None
    await vault.close()
    await runtime.ports.directory.close()


async def test_password_submit_function_uses_the_table_vault_with_azure_storage(
    azurite_connection_string: str, vault_table: str
) -> None:
    assert shared_vault(Settings(STORAGE_CONNECTION_STRING=None, TABLES_ACCOUNT_URL=None)) is None  # local host
    with pytest.raises(ValueError, match="KEY_VAULT_KEY_ID"):
        shared_vault(azure_settings(azurite_connection_string, vault_table))
    vault = shared_vault(
        azure_settings(
            azurite_connection_string, vault_table, VAULT_KEK=base64.b64encode(secrets.token_bytes(32)).decode()
        )
    )
    assert isinstance(vault, TableCredentialVault)
    await vault.close()
