"""SqliteCredentialVault specifics: reopening with the same key file, bulk speed.

The vault contract (round trip, upsert, delete, wrong KEK, moved rows, lookup decoys, the Key Vault seam, nothing
readable at rest) runs against both the SQLite and the Table vault in tests/integration/test_table_vault_azurite.py.
"""

from __future__ import annotations

import time
from pathlib import Path

from jit_rig import credential
from pydantic import SecretStr

from shared.bootstrap import open_local_vault
from shared.records import PasswordHash


def canary_hash(i: int) -> PasswordHash:
    return PasswordHash(
        algorithm="pbkdf2-sha256",
        value=SecretStr(f"CANARYVALUE{i:06d}AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
        salt=SecretStr(f"CANARYSALT{i:06d}"),
        params={"iterations": 27500, "marker": f"CANARYPARAM{i:06d}"},
    )


async def test_reopened_vault_reads_with_the_same_key_file(state_dir: Path) -> None:
    first = open_local_vault(str(state_dir))
    await first.store(credential("oid-1", canary_hash(1)))
    first.close()
    assert (await open_local_vault(str(state_dir)).load("oid-1")) is not None


async def test_bulk_store_is_thousands_per_second(state_dir: Path) -> None:
    vault = open_local_vault(str(state_dir))
    batch = [credential(f"oid-{i}", canary_hash(i)) for i in range(5000)]
    started = time.perf_counter()
    for i in range(0, len(batch), 500):
        await vault.store_many(batch[i : i + 500])
    rate = len(batch) / (time.perf_counter() - started)
    assert vault.count() == 5000
    assert rate > 2000, f"{rate:.0f} stores/s"
