"""The sync baseline a bulk import leaves behind: the fingerprint of every user it created, in the sync's store.

The coexistence sync decides "did this user change?" against the fingerprint of what was last written to Entra
(shared.sync.fingerprint). Without one, the first snapshot diff after a bulk import would send an update hint
for every imported user, and each costs a Graph read (and often a PATCH): days of quota at 10M users, right at
cutover. So the import records, as it settles a chunk, the fingerprint of exactly what it created — made by
`written_fingerprint`, the function the sync uses after its own writes — in the store the sync reads (sync.db
locally, SYNC_TABLE in Azure). Only created users (a create answered, or a conflict or give-up lookup that proves
the create was ours) get one: a rejected or failed user, or someone else's already-present user, gets none.
A rollback forgets them (SyncStore.forget_fingerprints) together with the users.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from shared.mapping import MappingOptions
from shared.ports import WrittenUser
from shared.sync.fingerprint import Digester, written_fingerprint
from shared.sync.store import SyncStore


class ImportBaselines:
    """The SyncBaselines port over a sync store."""

    def __init__(self, store: SyncStore, digester: Digester) -> None:
        self.store = store
        self._digester = digester

    async def record(self, source: str, mapping: MappingOptions, written: Sequence[WrittenUser], now: datetime) -> None:
        if not written:
            return
        await self.store.put_fingerprints(
            [written_fingerprint(self._digester, mapping, source, w.user, w.target, w.object_id, now) for w in written]
        )
