"""SyncPolicy: the sync's settings as the handlers use them, derived once from Settings (see docs/sync.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from shared.config import Settings

ConflictRule = Literal["entra_wins_after_cutover", "legacy_wins", "entra_wins"]


@dataclass(frozen=True)
class SyncPolicy:
    legacy_changes_queue: str = "legacy-changes"
    conflict_rule: ConflictRule = "entra_wins_after_cutover"
    cutover_at: datetime | None = None
    delete_policy: Literal["delete", "disable"] = "delete"
    no_hash_password_policy: Literal["force_reset", "leave"] = "force_reset"
    max_attempts: int = 8
    poll_interval_s: float = 60.0
    poll_lease_s: float = 120.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SyncPolicy:
        return cls(
            legacy_changes_queue=settings.LEGACY_CHANGES_QUEUE,
            conflict_rule=settings.SYNC_CONFLICT_RULE,
            cutover_at=settings.SYNC_CUTOVER_AT,
            delete_policy=settings.SYNC_DELETE_POLICY,
            no_hash_password_policy=settings.SYNC_NO_HASH_PASSWORD_POLICY,
            max_attempts=settings.SYNC_MAX_ATTEMPTS,
            poll_interval_s=settings.SYNC_POLL_INTERVAL_S,
            poll_lease_s=settings.SYNC_POLL_LEASE_S,
        )


def sync_run_id(source: str) -> str:
    """The run id a source's sync uses for its messages and its creates in the ledger."""
    return f"sync-{source}"
