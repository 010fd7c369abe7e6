"""Roll back runs: delete exactly the users they created, their vaulted hashes, then their ledger rows.

In: the ledger's creations of some runs (never an already-present or adopted user: those have no
creation). Each object id is read back first and deleted only when the tenant's user is the one we
made: its legacy-id extension equals the ledger's legacy id (or, with no legacy-id attribute in the
run's mapping, it was created after the run started); a read that finds nothing (404) still sends the
DELETE, since a replica may lag and the id came from our own create's answer. Then, per slice: DELETE
in the tenant (404 = already gone), vault entry deleted, the sync's fingerprints of them dropped (a re-import
starts with no stale memory), ledger rows forgotten — in that order, so a crash at any point
leaves the user findable by the next rollback, which redoes only what is left (idempotent,
resumable). A user whose object id now holds someone else is left alone and reported.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.outcomes import Creation, RunState
from shared.ports import CredentialVault, Ledger, RemovalAnswer, UserRemoval
from shared.sync.store import SyncStore

logger = logging.getLogger(__name__)

SLICE = 100  # users read, deleted and forgotten together: the unit of progress and of redo after a crash
CLOCK_SLACK = timedelta(minutes=5)  # between our clock (run start) and the tenant's createdDateTime
RESTORE_WINDOW_DAYS = 30  # Entra keeps deleted users restorable this long (graph api/directory-deleteditems-restore.md)


@dataclass
class RollbackTally:
    deleted: int = 0
    already_gone: int = 0  # 404: deleted by an earlier (interrupted) rollback, or by someone else
    not_ours: list[tuple[Creation, str]] = field(default_factory=list)  # left alone, still in the ledger
    failed: list[tuple[Creation, str]] = field(default_factory=list)  # Graph kept failing: run rollback again

    @property
    def finished(self) -> bool:
        return not self.not_ours and not self.failed


@dataclass
class Rollback:
    removal: UserRemoval
    ledger: Ledger
    vault: CredentialVault | None
    runs: dict[str, RunState]  # every run the creations name
    sync_store: SyncStore | None = None  # a coexistence sync's memory of what it wrote to these users, if any

    async def apply(self, creations: Sequence[Creation], on_progress: Callable[[int], None]) -> RollbackTally:
        tally = RollbackTally()
        for start in range(0, len(creations), SLICE):
            part = creations[start : start + SLICE]
            await self._slice(part, tally)
            on_progress(len(part))
        return tally

    async def _slice(self, part: Sequence[Creation], tally: RollbackTally) -> None:
        select = sorted({"id", "createdDateTime", *filter(None, (self._legacy_attribute(c) for c in part))})
        found = await self.removal.read_users([c.object_id for c in part], select)
        to_delete: list[Creation] = []
        done: list[Creation] = []
        for c in part:
            answer = found[c.object_id]
            if answer.status == "absent":  # gone, or a replica not caught up yet: the DELETE tells (404 = gone)
                to_delete.append(c)
            elif answer.status == "failed":
                tally.failed.append((c, answer.error_code or "read failed"))
            elif reason := self._not_ours(c, answer):
                tally.not_ours.append((c, reason))
            else:
                to_delete.append(c)
        deleted = await self.removal.delete_users([c.object_id for c in to_delete]) if to_delete else {}
        for c in to_delete:
            answer = deleted[c.object_id]
            if answer.status == "failed":
                tally.failed.append((c, answer.error_code or "delete failed"))
                continue
            tally.deleted += answer.status == "ok"
            tally.already_gone += answer.status == "absent"
            done.append(c)
        if self.vault is not None:
            for c in done:
                await self.vault.delete(c.object_id)
        if self.sync_store is not None:
            for source in sorted({c.source for c in done}):
                await self.sync_store.forget_fingerprints(source, [c.legacy_id for c in done if c.source == source])
        await self.ledger.forget(done)

    def _legacy_attribute(self, c: Creation) -> str | None:
        mapping = self.runs[c.run_id].mapping if c.run_id in self.runs else None
        if mapping is None or not mapping.legacy_id_attribute:
            return None
        return mapping.extension_name(mapping.legacy_id_attribute)

    def _not_ours(self, c: Creation, answer: RemovalAnswer) -> str | None:
        """Why the tenant's user under this object id is not the one the run created, or None."""
        attribute = self._legacy_attribute(c)
        if attribute is not None:
            held = answer.properties.get(attribute)
            return None if held == c.legacy_id else f"its {attribute} is {held!r}, not {c.legacy_id!r}"
        run = self.runs.get(c.run_id)
        created = _parse_time(answer.properties.get("createdDateTime"))
        if run is None or created is None:
            return "cannot tell who created it (no legacy-id attribute, no createdDateTime)"
        if created < run.started_at - CLOCK_SLACK:
            return f"created {created.isoformat()}, before run {c.run_id} started"
        return None


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
