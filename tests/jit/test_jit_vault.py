"""The credential vault: envelope encryption round trip, nothing readable at rest, bulk speed, Key Vault seam."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from azure.keyvault.keys.crypto import KeyWrapAlgorithm, UnwrapResult, WrapResult
from jit_rig import credential
from pydantic import SecretStr

from shared.ports import CredentialVault, StoredCredential
from shared.records import PasswordHash
from shared.vault import (
    KeyUnwrapFailed,
    KeyVaultKeyWrapper,
    LocalKeyWrapper,
    SqliteCredentialVault,
    open_local_vault,
)


def canary_hash(i: int) -> PasswordHash:
    return PasswordHash(
        algorithm="pbkdf2-sha256",
        value=SecretStr(f"CANARYVALUE{i:06d}AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
        salt=SecretStr(f"CANARYSALT{i:06d}"),
        params={"iterations": 27500, "marker": f"CANARYPARAM{i:06d}"},
    )


def raw_bytes(state: Path) -> bytes:
    return b"".join(p.read_bytes() for p in state.glob("vault.db*"))


async def test_round_trip_and_delete(state_dir: Path) -> None:
    vault: CredentialVault = open_local_vault(str(state_dir))
    stored = credential("oid-1", canary_hash(1), disabled=True)
    await vault.store(stored)
    loaded = await vault.load("oid-1")
    assert loaded is not None
    assert loaded.password_hash.value.get_secret_value() == stored.password_hash.value.get_secret_value()
    assert loaded.password_hash.salt == stored.password_hash.salt
    assert (loaded.password_hash.params, loaded.disabled, loaded.legacy_id) == (
        {"iterations": 27500, "marker": "CANARYPARAM000001"},
        True,
        "auth0|oid-1",
    )
    await vault.delete("oid-1")
    assert await vault.load("oid-1") is None


async def test_reopened_vault_reads_with_the_same_key_file(state_dir: Path) -> None:
    first = open_local_vault(str(state_dir))
    await first.store(credential("oid-1", canary_hash(1)))
    first.close()
    assert (await open_local_vault(str(state_dir)).load("oid-1")) is not None


async def test_file_holds_no_plaintext_hash_salt_or_params_before_and_after_delete(state_dir: Path) -> None:
    vault = open_local_vault(str(state_dir))
    await vault.store_many([credential(f"oid-{i}", canary_hash(i)) for i in range(200)])
    data = raw_bytes(state_dir)
    assert b"CANARY" not in data and b"auth0|" not in data and b"pbkdf2" not in data
    for i in range(200):
        await vault.delete(f"oid-{i}")
    assert vault.count() == 0
    assert b"CANARY" not in raw_bytes(state_dir)


async def test_a_row_moved_to_another_object_id_does_not_open(state_dir: Path) -> None:
    vault = open_local_vault(str(state_dir))
    await vault.store_many([credential("victim", canary_hash(1)), credential("attacker", canary_hash(2))])
    db = sqlite3.connect(state_dir / "vault.db")
    row = db.execute("SELECT kek_id, wrapped_dek, sealed FROM credentials WHERE object_id='victim'").fetchone()
    db.execute("UPDATE credentials SET kek_id=?, wrapped_dek=?, sealed=? WHERE object_id='attacker'", row)
    db.commit()
    with pytest.raises(KeyUnwrapFailed):
        await vault.load("attacker")


async def test_another_kek_cannot_open(state_dir: Path, tmp_path: Path) -> None:
    await open_local_vault(str(state_dir)).store(credential("oid-1", canary_hash(1)))
    stranger = SqliteCredentialVault(state_dir / "vault.db", LocalKeyWrapper.from_key_file(tmp_path / "other.key"))
    with pytest.raises(KeyUnwrapFailed) as failed:
        await stranger.load("oid-1")
    assert "CANARY" not in str(failed.value)


async def test_lookup_miss_opens_a_decoy_for_timing_but_returns_no_credential(state_dir: Path) -> None:
    vault = open_local_vault(str(state_dir))
    assert (await vault.lookup("nobody")).timing_hash is None  # empty vault: the caller falls back to its dummy
    await vault.store(credential("oid-1", canary_hash(1)))
    miss = await vault.lookup("nobody")
    assert miss.credential is None and miss.timing_hash is not None
    hit = await vault.lookup("oid-1")
    assert hit.credential is not None and hit.credential.object_id == "oid-1"


async def test_bulk_store_is_thousands_per_second(state_dir: Path) -> None:
    vault = open_local_vault(str(state_dir))
    batch = [credential(f"oid-{i}", canary_hash(i)) for i in range(5000)]
    started = time.perf_counter()
    for i in range(0, len(batch), 500):
        await vault.store_many(batch[i : i + 500])
    rate = len(batch) / (time.perf_counter() - started)
    assert vault.count() == 5000
    assert rate > 2000, f"{rate:.0f} stores/s"


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


async def test_key_vault_wrapper_at_its_seam(state_dir: Path) -> None:
    client = FakeCryptographyClient()
    vault = SqliteCredentialVault(state_dir / "vault.db", KeyVaultKeyWrapper(client))  # type: ignore[arg-type]
    await vault.store_many([credential(f"oid-{i}", canary_hash(i)) for i in range(3)])
    loaded = await vault.load("oid-2")
    assert loaded is not None and loaded.password_hash.salt is not None
    assert loaded.password_hash.salt.get_secret_value() == "CANARYSALT000002"
    assert client.calls.count(("wrap", KeyWrapAlgorithm.rsa_oaep_256)) == 3
    assert client.calls[-1] == ("unwrap", KeyWrapAlgorithm.rsa_oaep_256)
    db = sqlite3.connect(state_dir / "vault.db")
    assert {r[0] for r in db.execute("SELECT kek_id FROM credentials")} == {client.key_id}


async def test_store_is_an_upsert(state_dir: Path) -> None:
    vault = open_local_vault(str(state_dir))
    await vault.store(credential("oid-1", canary_hash(1)))
    await vault.store(StoredCredential(object_id="oid-1", source="s", legacy_id="l2", password_hash=canary_hash(2)))
    loaded = await vault.load("oid-1")
    assert vault.count() == 1 and loaded is not None and loaded.legacy_id == "l2"
