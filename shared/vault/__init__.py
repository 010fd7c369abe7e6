"""Credential vault for JIT password migration: legacy hashes sealed with envelope encryption.

Offline:  SqliteCredentialVault(state/"vault.db", LocalKeyWrapper.from_key_file(state/"keys"/"kek.key"))
In Azure: TableCredentialVault (one Table shared by every instance, same envelope format) with
KeyVaultKeyWrapper(CryptographyClient(key_id, credential)). shared.bootstrap builds both from the settings.
"""

from __future__ import annotations

from shared.vault.envelope import Lookup, Rewrap
from shared.vault.sqlite_vault import SqliteCredentialVault
from shared.vault.table_vault import TableCredentialVault
from shared.vault.wrappers import (
    KeyUnwrapFailed,
    KeyVaultKeyWrapper,
    KeyWrapper,
    LocalKeyWrapper,
    WrappedKey,
    rotate_key_file,
)

__all__ = [
    "KeyUnwrapFailed",
    "KeyVaultKeyWrapper",
    "KeyWrapper",
    "LocalKeyWrapper",
    "Lookup",
    "Rewrap",
    "SqliteCredentialVault",
    "TableCredentialVault",
    "WrappedKey",
    "rotate_key_file",
]
