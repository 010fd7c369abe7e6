"""KEK rotation, on both vault backends (SQLite file, Azure Table on Azurite) and both wrappers (local key ring,
Key Vault versioned key ids): new seals use the current KEK, rows sealed under an older one still open, `rewrap`
moves every data key to the current KEK without touching a ciphertext, and then the old KEK can go.

Key Vault cannot run here: `VersionedKeyVault` stands in for it at the CryptographyClient seam with real
RSA-OAEP-256 keys, one per version, addressed by versioned key id exactly as the service names them.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from azure.data.tables.aio import TableClient
from azure.keyvault.keys.crypto import KeyWrapAlgorithm, UnwrapResult, WrapResult
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from typer.testing import CliRunner

from cli.main import build_app
from shared.bootstrap import open_local_vault
from shared.vault import KeyUnwrapFailed, KeyVaultKeyWrapper, KeyWrapper, LocalKeyWrapper, rotate_key_file
from shared.vault.table_vault import credential_keys
from tests.integration.test_table_vault_azurite import Backend, canary_hash, credential, sqlite_backend, table_backend

pytestmark = pytest.mark.azurite

Row = tuple[str, bytes, bytes]  # kek_id, wrapped_dek, sealed
VAULT_URL = "https://kv-test.vault.azure.net"


def rows_reader(backend: Backend, where: Any) -> Callable[[list[str]], Awaitable[dict[str, Row]]]:
    """What is stored per object id, read behind the port."""

    async def read(ids: list[str]) -> dict[str, Row]:
        if isinstance(where, Path):
            db = sqlite3.connect(where)
            found = {
                oid: db.execute(
                    "SELECT kek_id, wrapped_dek, sealed FROM credentials WHERE object_id=?", (oid,)
                ).fetchone()
                for oid in ids
            }
            db.close()
            return {k: (str(v[0]), bytes(v[1]), bytes(v[2])) for k, v in found.items()}
        table: TableClient = where
        out = {}
        for oid in ids:
            e = await table.get_entity(*credential_keys(oid))
            out[oid] = (str(e["kek_id"]), bytes(e["wrapped_dek"]), bytes(e["sealed"]))
        return out

    return read


@pytest.fixture(params=["sqlite", "table"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> tuple[Backend, Callable[[list[str]], Awaitable[dict[str, Row]]]]:
    if request.param == "sqlite":
        path = tmp_path / "state" / "vault.db"
        backend = sqlite_backend(path)
        return backend, rows_reader(backend, path)
    table = request.getfixturevalue("table")
    backend = table_backend(table)
    return backend, rows_reader(backend, table)


class VersionedKeyVault:
    """One Key Vault key with versions (RSA-2048), and the CryptographyClient each key id gets."""

    def __init__(self, name: str = "jit-vault-kek") -> None:
        self.name = name
        self.versions: dict[str, rsa.RSAPrivateKey] = {}
        self.disabled: set[str] = set()
        self.clients_made: list[str] = []
        self.rotate()

    def rotate(self) -> str:
        """`az keyvault key rotate`: a new version, which an unversioned key id now means."""
        version = secrets.token_hex(16)
        self.versions[version] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.latest = version
        return self.key_id(version)

    def key_id(self, version: str | None = None) -> str:
        return f"{VAULT_URL}/keys/{self.name}" + (f"/{version}" if version else "")

    def client(self, key_id: str) -> FakeCryptographyClient:
        self.clients_made.append(key_id)
        return FakeCryptographyClient(self, key_id)


class FakeCryptographyClient:
    def __init__(self, vault: VersionedKeyVault, key_id: str) -> None:
        self.vault = vault
        self.key_id = key_id

    def _version(self) -> str:
        parts = self.key_id.rstrip("/").split("/")
        return parts[5] if len(parts) > 5 else self.vault.latest

    async def wrap_key(self, algorithm: KeyWrapAlgorithm, key: bytes, **_: Any) -> WrapResult:
        assert algorithm == KeyWrapAlgorithm.rsa_oaep_256
        version = self._version()
        public = self.vault.versions[version].public_key()
        wrapped = public.encrypt(key, padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None))
        return WrapResult(key_id=self.vault.key_id(version), algorithm=algorithm, encrypted_key=wrapped)

    async def unwrap_key(self, algorithm: KeyWrapAlgorithm, encrypted_key: bytes, **_: Any) -> UnwrapResult:
        version = self._version()
        if version in self.vault.disabled:
            raise PermissionError("Operation unwrapKey is not allowed on a disabled key")
        private = self.vault.versions[version]
        key = private.decrypt(encrypted_key, padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None))
        return UnwrapResult(key_id=self.vault.key_id(version), algorithm=algorithm, key=key)

    async def close(self) -> None:
        return None


def kv_wrapper(vault: VersionedKeyVault, key_id: str) -> KeyVaultKeyWrapper:
    return KeyVaultKeyWrapper(vault.client(key_id), client_for=vault.client)  # type: ignore[arg-type]


async def assert_opens(backend: Backend, wrapper: KeyWrapper, ids: list[str]) -> None:
    vault = backend.open(wrapper)
    for n, oid in enumerate(ids):
        loaded = await vault.load(oid)
        assert loaded is not None and loaded.password_hash.salt is not None
        assert loaded.password_hash.salt.get_secret_value() == f"CANARYSALT{n:06d}"


# ---------------------------------------------------------------------------------------------- local key ring


async def test_a_rotated_local_kek_opens_old_rows_and_rewrap_moves_them_without_touching_ciphertexts(store) -> None:
    backend, rows = store
    old_key, new_key = secrets.token_bytes(32), secrets.token_bytes(32)
    old, rotated = LocalKeyWrapper(old_key), LocalKeyWrapper(new_key, retired=[old_key])
    ids = [f"oid-{i}" for i in range(40)]
    await backend.open(old).store_many([credential(oid, canary_hash(n)) for n, oid in enumerate(ids[:30])])
    # Rotated: the old rows still open, new seals use the new KEK.
    vault = backend.open(rotated)
    await assert_opens(backend, rotated, ids[:30])
    await vault.store_many([credential(oid, canary_hash(n + 30)) for n, oid in enumerate(ids[30:])])
    assert await vault.kek_counts() == {old.kek_id: 30, rotated.kek_id: 10}
    before = await rows(ids)
    # Without the old key, the old rows do not open, and the error names no key and no credential.
    with pytest.raises(KeyUnwrapFailed) as refused:
        await backend.open(LocalKeyWrapper(new_key)).load("oid-0")
    assert "CANARY" not in str(refused.value) and base64.b64encode(old_key).decode() not in str(refused.value)

    report = await vault.rewrap()

    assert (report.rewrapped, report.already_current, report.changed_meanwhile, report.unopenable) == (30, 10, 0, 0)
    after = await rows(ids)
    assert all(after[oid][2] == before[oid][2] for oid in ids), "a ciphertext was rewritten"
    assert all(after[oid][1] != before[oid][1] for oid in ids[:30]), "a data key was not rewrapped"
    assert {after[oid][0] for oid in ids} == {rotated.kek_id}
    assert await vault.kek_counts() == {rotated.kek_id: 40}
    await assert_opens(backend, LocalKeyWrapper(new_key), [f"oid-{i}" for i in range(30)])  # old key deleted: fine
    again = await vault.rewrap()  # re-run after a crash: nothing left to do
    assert (again.rewrapped, again.already_current) == (0, 40)


async def test_rewrap_leaves_a_row_restored_meanwhile_and_keeps_unopenable_rows(store) -> None:
    backend, rows = store
    old_key, new_key, lost_key = (secrets.token_bytes(32) for _ in range(3))
    await backend.open(LocalKeyWrapper(old_key)).store_many([credential(f"oid-{i}", canary_hash(i)) for i in range(5)])
    await backend.open(LocalKeyWrapper(lost_key)).store(credential("orphan", canary_hash(9)))
    current = LocalKeyWrapper(new_key, retired=[old_key])
    writer = backend.open(current)  # an import on another instance, re-storing oid-2 mid-rewrap

    class ImportDuringRewrap(LocalKeyWrapper):
        async def unwrap(self, wrapped: bytes, context: str, kek_id: str) -> bytes:
            dek = await super().unwrap(wrapped, context, kek_id)
            if context == "oid-2":
                await writer.store(credential("oid-2", canary_hash(77)))
            return dek

    report = await backend.open(ImportDuringRewrap(new_key, retired=[old_key])).rewrap()

    assert (report.rewrapped, report.changed_meanwhile, report.unopenable) == (4, 1, 1)
    restored = await writer.load("oid-2")
    assert restored is not None and restored.password_hash.salt is not None
    assert restored.password_hash.salt.get_secret_value() == "CANARYSALT000077"  # not clobbered by the rewrap
    orphan = (await rows(["orphan"]))["orphan"]
    assert orphan[0] == LocalKeyWrapper(lost_key).kek_id  # kept as it was, for when its key is restored
    assert (await backend.open(LocalKeyWrapper(lost_key)).load("orphan")) is not None


# ---------------------------------------------------------------------------------------------- Key Vault versions


async def test_a_new_key_vault_version_opens_rows_of_the_old_one_then_rewrap_lets_it_be_disabled(store) -> None:
    backend, rows = store
    kv = VersionedKeyVault()
    v1 = kv.key_id(kv.latest)
    ids = [f"oid-{i}" for i in range(12)]
    await backend.open(kv_wrapper(kv, v1)).store_many([credential(o, canary_hash(n)) for n, o in enumerate(ids[:8])])
    v2 = kv.rotate()  # az keyvault key rotate; KEY_VAULT_KEY_ID := the new versioned id (azd provision)
    wrapper = kv_wrapper(kv, v2)
    vault = backend.open(wrapper)
    await assert_opens(backend, wrapper, ids[:8])
    await vault.store_many([credential(o, canary_hash(n + 8)) for n, o in enumerate(ids[8:])])
    assert await vault.kek_counts() == {v1: 8, v2: 4}
    before = await rows(ids)

    report = await vault.rewrap()

    assert (report.current_kek_id, report.rewrapped, report.already_current, report.unopenable) == (v2, 8, 4, 0)
    after = await rows(ids)
    assert all(after[o][2] == before[o][2] for o in ids) and {after[o][0] for o in ids} == {v2}
    kv.disabled.add(v1.rsplit("/", 1)[1])  # az keyvault key set-attributes --version <v1> --enabled false
    await assert_opens(backend, kv_wrapper(kv, v2), ids)


async def test_an_unversioned_key_id_seals_under_the_newest_version_and_rows_name_their_version(store) -> None:
    backend, _ = store
    kv = VersionedKeyVault()
    v1 = kv.key_id(kv.latest)
    wrapper = kv_wrapper(kv, kv.key_id())  # KEY_VAULT_KEY_ID without a version
    vault = backend.open(wrapper)
    await vault.store(credential("oid-0", canary_hash(0)))
    v2 = kv.rotate()  # e.g. the key's rotation policy
    await vault.store(credential("oid-1", canary_hash(1)))
    assert await vault.kek_counts() == {v1: 1, v2: 1}
    await assert_opens(backend, kv_wrapper(kv, kv.key_id()), ["oid-0", "oid-1"])
    report = await vault.rewrap()
    assert (report.current_kek_id, report.rewrapped) == (v2, 1)


async def test_a_row_naming_another_vault_or_key_is_refused_without_asking_it(store) -> None:
    backend, _ = store
    kv, other = VersionedKeyVault(), VersionedKeyVault("someone-elses-key")
    await backend.open(kv_wrapper(other, other.key_id(other.latest))).store(credential("oid-0", canary_hash(0)))
    wrapper = kv_wrapper(kv, kv.key_id(kv.latest))
    made = len(kv.clients_made)
    with pytest.raises(KeyUnwrapFailed, match="other than jit-vault-kek") as refused:
        await backend.open(wrapper).load("oid-0")
    assert len(kv.clients_made) == made and "CANARY" not in str(refused.value)


# ---------------------------------------------------------------------------------------------- the CLI


async def cli(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    """The command in a thread of its own (it runs its own event loop, as from a shell)."""
    return await asyncio.to_thread(_cli, args, env)


def _cli(args: list[str], env: dict[str, str] | None) -> tuple[int, str]:
    result = CliRunner().invoke(build_app("vault"), ["vault", *args], env={"COLUMNS": "400", **(env or {})})
    return result.exit_code, result.output


async def test_vault_rotate_on_a_local_state_and_a_process_started_before_it(tmp_path: Path) -> None:
    state = tmp_path / "state"
    running = open_local_vault(str(state))  # e.g. `jit serve`, started before the rotation
    await running.store_many([credential(f"oid-{i}", canary_hash(i)) for i in range(20)])
    old_id = await running.current_kek_id()

    code, output = await cli(["rotate", "--state", str(state)])

    assert code == 0, output
    assert "rewrapped 20 row(s)" in output and "0 did not unwrap" in output
    retired = state / "keys" / "kek-retired" / f"{old_id.removeprefix('local:')}.key"
    assert retired.exists() and oct(retired.stat().st_mode & 0o777) == "0o600"
    code, output = await cli(["status", "--state", str(state)])
    assert code == 0 and f"older KEK   {old_id}" in output and "0 row(s), no rows: may be deleted" in output
    for n in range(20):  # the running process re-reads the key ring and opens rewrapped rows
        loaded = await running.load(f"oid-{n}")
        assert loaded is not None and loaded.legacy_id == f"auth0|oid-{n}"
    await running.store(credential("oid-late", canary_hash(99)))  # ... and seals with the new KEK
    assert set(await running.kek_counts()) == {await running.current_kek_id()} != {old_id}
    running.close()
    retired.unlink()  # status said so: nothing needs the old key
    fresh = open_local_vault(str(state))
    assert (await fresh.load("oid-7")) is not None
    fresh.close()
    code, output = await cli(["rotate", "--state", str(tmp_path / "none")])
    assert code == 2 and "no vault.db" in output


async def test_a_crash_after_the_new_key_before_the_rewrap_loses_nothing(tmp_path: Path) -> None:
    state = tmp_path / "state"
    vault = open_local_vault(str(state))
    await vault.store_many([credential(f"oid-{i}", canary_hash(i)) for i in range(5)])
    vault.close()
    old_id, new_id = rotate_key_file(state / "keys" / "kek.key")  # `vault rotate` killed right after this

    reopened = open_local_vault(str(state))
    assert await reopened.kek_counts() == {old_id: 5} and await reopened.current_kek_id() == new_id
    assert (await reopened.load("oid-4")) is not None
    reopened.close()
    code, output = await cli(["status", "--state", str(state)])
    assert code == 0 and "5 row(s), still needed: run `ciam-migrate vault rewrap`" in output
    code, output = await cli(["rewrap", "--state", str(state)])
    assert code == 0 and "rewrapped 5 row(s)" in output


async def test_vault_rewrap_azure_over_the_table_vault(azurite_connection_string: str, table: TableClient) -> None:
    old_key, new_key = secrets.token_bytes(32), secrets.token_bytes(32)
    await (
        table_backend(table)
        .open(LocalKeyWrapper(old_key))
        .store_many([credential(f"oid-{i}", canary_hash(i)) for i in range(30)])
    )
    env = {
        "STORAGE_CONNECTION_STRING": azurite_connection_string,
        "VAULT_TABLE": table.table_name,
        "KEY_VAULT_KEY_ID": "",
        "TABLES_ACCOUNT_URL": "",
        "VAULT_KEK": base64.b64encode(new_key).decode(),
        "VAULT_KEK_RETIRED": f'["{base64.b64encode(old_key).decode()}"]',
    }

    code, output = await cli(["rewrap", "--azure"], env)

    assert code == 0, output
    assert "rewrapped 30 row(s)" in output
    assert base64.b64encode(new_key).decode() not in output and base64.b64encode(old_key).decode() not in output
    await assert_opens(table_backend(table), LocalKeyWrapper(new_key), [f"oid-{i}" for i in range(30)])
    code, output = await cli(["status", "--azure"], {**env, "VAULT_KEK_RETIRED": "[]"})
    assert code == 0 and "current KEK local:" in output and ": 30 row(s)" in output and "older" not in output
    # Without the retired key, rows still under it are counted, kept, and the exit code says so.
    await table_backend(table).open(LocalKeyWrapper(old_key)).store(credential("oid-x", canary_hash(0)))
    code, output = await cli(["rewrap", "--azure"], {**env, "VAULT_KEK_RETIRED": "[]"})
    assert code == 1 and "1 did not unwrap" in output and "CANARY" not in output
    code, output = await cli(["rewrap", "--azure"], {**env, "VAULT_KEK": "not base64!"})
    assert code == 2 and "not base64" not in output
