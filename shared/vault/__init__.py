"""Credential vault for JIT password migration: legacy hashes sealed with envelope encryption.

Offline:  SqliteCredentialVault(state/"vault.db", LocalKeyWrapper.from_key_file(state/"keys"/"kek.key"))
In Azure: the same store with KeyVaultKeyWrapper(CryptographyClient(key_id, credential)).
"""

from __future__ import annotations

from pathlib import Path

from shared.vault.sqlite_vault import Lookup, SqliteCredentialVault
from shared.vault.wrappers import KeyUnwrapFailed, KeyVaultKeyWrapper, KeyWrapper, LocalKeyWrapper

__all__ = ["KeyUnwrapFailed", "KeyVaultKeyWrapper", "KeyWrapper", "LocalKeyWrapper", "Lookup", "SqliteCredentialVault"]


def open_local_vault(state_dir: str) -> SqliteCredentialVault:
    """The offline vault the import stage and `jit serve` share: <state>/vault.db, KEK in <state>/keys/kek.key."""
    root = Path(state_dir)
    return SqliteCredentialVault(root / "vault.db", LocalKeyWrapper.from_key_file(root / "keys" / "kek.key"))
