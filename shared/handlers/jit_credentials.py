"""Vault the legacy hash of every JIT user an import attempt settled as created (by us), keyed by object id.

Runs before the ledger write: once the ledger says created, a redelivery skips the user, so a hash not
yet stored would be lost. Storing again on redelivery is harmless (the vault is keyed by object id).
The hashes are derived while the chunk's creates are in flight (`start_chunk_hashes`, before any create
leaves): here they are only collected, so the event loop and the write budget never wait on PBKDF2.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.handlers.chunk_progress import ChunkProgress
from shared.outcomes import Outcome
from shared.passwords.jit_hash import JitHashes, start_jit_hashes
from shared.ports import StoredCredential
from shared.records import TargetUser


def start_chunk_hashes(progress: ChunkProgress, to_send: Sequence[TargetUser]) -> JitHashes:
    """Start deriving the hashes of the JIT users about to be created (none when there is no vault)."""
    if progress.ports.vault is None:
        return start_jit_hashes([])
    return start_jit_hashes([progress.entries[t.legacy_id].user for t in to_send if t.password_path == "jit"])


async def store_jit_credentials(progress: ChunkProgress, targets: dict[str, TargetUser], hashes: JitHashes) -> None:
    vault = progress.ports.vault
    if vault is None:
        return
    legacy_ids = [
        legacy_id
        for legacy_id, entry in progress.updates.items()
        if entry.outcome == Outcome.CREATED and entry.object_id
        and (target := targets.get(legacy_id)) is not None and target.password_path == "jit"
    ]  # fmt: skip
    if not legacy_ids:
        return
    derived = await hashes.wait()
    credentials = [
        StoredCredential(
            object_id=str(progress.updates[user.legacy_id].object_id), source=progress.command.source,
            legacy_id=user.legacy_id, password_hash=password_hash, disabled=user.disabled,
        )
        for user in (progress.entries[legacy_id].user for legacy_id in legacy_ids)
        if (password_hash := derived.get(user.legacy_id)) is not None
    ]  # fmt: skip
    if credentials:
        await vault.store_many(credentials)
