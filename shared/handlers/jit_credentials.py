"""Vault the legacy hash of every JIT user an import attempt settled as created (by us), keyed by object id.

Runs before the ledger write: once the ledger says created, a redelivery skips the user, so a hash not
yet stored would be lost. Storing again on redelivery is harmless (the vault is keyed by object id).
"""

from __future__ import annotations

from shared.handlers.chunk_progress import ChunkProgress
from shared.outcomes import Outcome
from shared.passwords.jit_hash import jit_hashes
from shared.ports import StoredCredential
from shared.records import TargetUser


async def store_jit_credentials(progress: ChunkProgress, targets: dict[str, TargetUser]) -> None:
    vault = progress.ports.vault
    if vault is None:
        return
    legacy_ids = [
        legacy_id
        for legacy_id, entry in progress.updates.items()
        if entry.outcome == Outcome.CREATED and entry.object_id
        and (target := targets.get(legacy_id)) is not None and target.password_path == "jit"
    ]  # fmt: skip
    users = [progress.entries[legacy_id].user for legacy_id in legacy_ids]
    credentials = [
        StoredCredential(
            object_id=str(progress.updates[user.legacy_id].object_id), source=progress.command.source,
            legacy_id=user.legacy_id, password_hash=password_hash, disabled=user.disabled,
        )
        for user, password_hash in zip(users, await jit_hashes(users), strict=True)
        if password_hash is not None
    ]  # fmt: skip
    if credentials:
        await vault.store_many(credentials)
