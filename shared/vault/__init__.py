"""Credential vault for JIT password migration: legacy hashes sealed with envelope encryption.

Offline:  SqliteCredentialVault(state/"vault.db", LocalKeyWrapper.from_key_file(state/"keys"/"kek.key"))
In Azure: TableCredentialVault (one Table shared by every instance, same envelope format) with
KeyVaultKeyWrapper(CryptographyClient(key_id, credential)); `open_azure_vault(settings)` builds it.
"""

from __future__ import annotations

from pathlib import Path

from shared.vault.envelope import Lookup
from shared.vault.sqlite_vault import SqliteCredentialVault
from shared.vault.table_vault import TableCredentialVault, open_azure_vault
from shared.vault.wrappers import KeyUnwrapFailed, KeyVaultKeyWrapper, KeyWrapper, LocalKeyWrapper

__all__ = [
    "KeyUnwrapFailed",
    "KeyVaultKeyWrapper",
    "KeyWrapper",
    "LocalKeyWrapper",
    "Lookup",
    "SqliteCredentialVault",
    "TableCredentialVault",
    "open_azure_vault",
]


def open_local_vault(state_dir: str) -> SqliteCredentialVault:
    """The offline vault the import stage and `jit serve` share: <state>/vault.db, KEK in <state>/keys/kek.key."""
    root = Path(state_dir)
    return SqliteCredentialVault(root / "vault.db", LocalKeyWrapper.from_key_file(root / "keys" / "kek.key"))
