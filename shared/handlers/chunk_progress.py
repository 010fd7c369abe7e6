"""ChunkProgress: one import attempt's view of its chunk — the users, what the ledger knew, what we decided.

`entry()` stages a ledger row (written by the handler in one `record` call); every row of a user whose
create was ever sent carries `create_sent`, so "ours" survives throttling, give-ups and later runs.
"""

from __future__ import annotations

from shared.messages import ImportChunk
from shared.outcomes import SENT_OUTCOMES, LedgerEntry, MethodOutcome, Outcome
from shared.ports import ChunkEntry, Ports


class ChunkProgress:
    def __init__(
        self, command: ImportChunk, entries: list[ChunkEntry], known: dict[str, LedgerEntry], ports: Ports
    ) -> None:
        self.command = command
        self.entries = {e.user.legacy_id: e for e in entries}
        self.known = known
        self.ports = ports
        self.updates: dict[str, LedgerEntry] = {}
        self._sending: set[str] = set()

    def sent_before(self, legacy_id: str) -> bool:
        """A create for this user left this process in an earlier attempt or run: a conflict is then ours."""
        previous = self.known.get(legacy_id)
        return previous is not None and (previous.create_sent or previous.outcome in SENT_OUTCOMES)

    def mark_sending(self, legacy_id: str) -> None:
        self._sending.add(legacy_id)

    def entry(self, legacy_id: str, outcome: Outcome, **fields: object) -> LedgerEntry:
        source = self.entries[legacy_id]
        ledger_entry = LedgerEntry.model_validate(
            {
                "source": self.command.source,
                "legacy_id": legacy_id,
                "run_id": self.command.run_id,
                "outcome": outcome,
                "line": source.line,
                "chunk_id": self.command.chunk_id,
                "updated_at": self.ports.clock.now(),
                "create_sent": legacy_id in self._sending or self.sent_before(legacy_id),
                "methods": previous.methods if (previous := self.known.get(legacy_id)) is not None else {},
                **fields,
            }
        )
        self.updates[legacy_id] = ledger_entry
        return ledger_entry

    def methods(self, entry: LedgerEntry, methods: dict[str, MethodOutcome]) -> None:
        """Stage a user's row with new MFA method states; the row's outcome stays as it is."""
        base = self.updates.get(entry.legacy_id, entry)
        self.updates[entry.legacy_id] = base.model_copy(
            update={"methods": dict(methods), "updated_at": self.ports.clock.now()}
        )

    async def flush(self) -> None:
        """Write the staged rows, in one ledger call."""
        if self.updates:
            await self.ports.ledger.record([*self.updates.values()])
            self.updates.clear()
