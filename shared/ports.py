"""Ports: the interfaces the handlers depend on. Adapters implement them (SQLite, Azure, Graph).

Handlers receive one `Ports` bundle; tests build it with fakes or a temp SQLite ledger and the
emulator's URL. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from shared.auth_methods import MethodKind, MethodWrite
from shared.groups import AppRoleTarget
from shared.messages import ChunkImported, Envelope
from shared.outcomes import Creation, LedgerEntry, RunState
from shared.records import LegacyUser, ObjectIdentity, PasswordHash, SourceRecord, TargetUser
from shared.sources.base import SourceItem, SourceOptions
from shared.waves import WavePlan

if TYPE_CHECKING:
    from shared.mapping import MappingOptions

ChunkEntry = SourceRecord  # one user inside a chunk, with its export line: the type readers yield


class Queue(Protocol):
    async def send_all(self, envelopes: Sequence[Envelope]) -> None:
        """Send; a message whose id was already sent is dropped (duplicate detection)."""


class ChunkStore(Protocol):
    async def put(self, run_id: str, chunk_id: str, entries: Sequence[ChunkEntry]) -> None: ...
    async def get(self, run_id: str, chunk_id: str) -> list[ChunkEntry]: ...


class ExportStore(Protocol):
    def open_local(self, export_ref: str) -> AbstractAsyncContextManager[Path]:
        """A local file path for the export (downloaded from Blob in Azure)."""


class LegacyUsers(Protocol):
    """A legacy directory read live instead of from an export file (a B2C tenant through Graph)."""

    def reads(self, source: str, export_ref: str) -> bool:
        """True when `export_ref` names a live directory of `source` that this port reads."""

    def users(self, export_ref: str, options: SourceOptions) -> AsyncIterator[SourceItem]:
        """Its users in listing order, as the source's reader maps them."""


class ArtifactStore(Protocol):
    """Run artifacts: report.json, rejects.jsonl, failures.jsonl, id-map.csv."""

    async def write_text(self, run_id: str, name: str, text: str) -> None: ...
    async def read_text(self, run_id: str, name: str) -> str:
        """Raises FileNotFoundError when the artifact was never written."""

    async def append_lines(self, run_id: str, name: str, lines: Sequence[str]) -> None: ...
    def location(self, run_id: str) -> str: ...


class Ledger(Protocol):
    async def get_many(self, source: str, legacy_ids: Sequence[str]) -> dict[str, LedgerEntry]: ...
    async def record(self, entries: Sequence[LedgerEntry]) -> None:
        """Upsert by (source, legacy_id)."""

    def entries_for_run(self, run_id: str) -> AsyncIterator[LedgerEntry]: ...
    async def save_run(self, run: RunState) -> None: ...
    async def get_run(self, run_id: str) -> RunState | None: ...
    async def record_chunk(self, result: ChunkImported) -> RunState:
        """Idempotent by (run_id, chunk_id): a redelivered result is counted once."""

    async def list_runs(self) -> list[RunState]: ...
    async def creations_of(self, run_ids: Sequence[str]) -> list[Creation]:
        """The users these runs created (never the ones they found already present), in a stable order."""

    async def forget(self, creations: Sequence[Creation]) -> None:
        """Drop these users' rows and creations (rollback's last step): a later run creates them again."""

    async def save_wave_plan(self, plan: WavePlan) -> None: ...
    async def get_wave_plan(self) -> WavePlan | None: ...


CreateStatus = Literal["created", "conflict", "throttled", "transient", "rejected"]


class CreateResult(BaseModel):
    """Graph's answer for one user of a batch."""

    model_config = ConfigDict(frozen=True)

    legacy_id: str
    status: CreateStatus
    object_id: str | None = None
    retry_after: float | None = None
    error_code: str | None = None
    message: str | None = None
    # A conflict that followed an ambiguous failure (5xx, lost answer) of our own earlier attempt:
    # the user most likely exists because *we* created it.
    ambiguous_retry: bool = False


MethodStatus = Literal["added", "refused", "throttled", "ambiguous", "unavailable"]


@dataclass(frozen=True)
class MethodPost:
    """One authentication method to POST for one user (an item of a `$batch`)."""

    object_id: str
    method: MethodWrite


class MethodAnswer(BaseModel):
    """Graph's answer to one POST of an authentication method (one `$batch` item).

    added: 201. refused: a 4xx that is final (`error_code` says why; a duplicate slot is one).
    throttled: 429 (`retry_after`). ambiguous: 500/502/504 or a lost answer — it may have committed,
    so read the user's methods before sending it again. unavailable: 503, or Graph didn't answer a read.
    """

    model_config = ConfigDict(frozen=True)

    status: MethodStatus
    retry_after: float | None = None
    error_code: str | None = None


class Directory(Protocol):
    """The target tenant (Microsoft Graph, or the emulator)."""

    async def create_users(self, users: Sequence[TargetUser]) -> list[CreateResult]:
        """Create through $batch; one result per user, in any order. Honours the throttle budget."""

    async def find_user_by_identity(self, identity: ObjectIdentity) -> str | None: ...
    async def list_methods(self, object_id: str, kind: MethodKind) -> dict[str, str] | MethodAnswer:
        """The user's registered methods of `kind`, slot → value (phoneType → number; "email" → address),
        or the answer that kept Graph from saying (throttled / unavailable). A read, not a write."""

    async def add_methods(self, posts: Sequence[MethodPost]) -> list[MethodAnswer]:
        """POST phone and email methods through `$batch` (20 a request) within the write budget; one answer per
        post, in order. Each is sent once, never retried blind: the caller reads back before any re-send."""

    async def ensure_extension_properties(self, names: dict[str, str]) -> None:
        """Register extension properties {fullName: dataType} on the extensions app if missing."""

    async def close(self) -> None: ...


class RemovalAnswer(BaseModel):
    """Graph's answer for one object id: its properties (a read) or the delete done; absent = 404; failed."""

    model_config = ConfigDict(frozen=True)

    object_id: str
    status: Literal["ok", "absent", "failed"]
    properties: dict[str, Any] = {}
    error_code: str | None = None


class UserRemoval(Protocol):
    """Reading users back by object id and deleting them (rollback), within the write quota."""

    async def read_users(self, object_ids: Sequence[str], select: Sequence[str]) -> dict[str, RemovalAnswer]: ...
    async def delete_users(self, object_ids: Sequence[str]) -> dict[str, RemovalAnswer]:
        """DELETE /users/{id} each: ok (204), absent (404: already gone), failed (after retries)."""


@dataclass(frozen=True)
class ResolvedGroup:
    """A mapped Entra group by displayName: its object id, or why it can't be used."""

    name: str
    group_id: str | None
    created: bool = False
    problem: str | None = None


@dataclass(frozen=True)
class ResolvedAppRole:
    target: AppRoleTarget
    resource_id: str | None  # the app's service principal
    app_role_id: str | None
    problem: str | None = None


@dataclass(frozen=True)
class GroupWrite:
    """One membership (group_id) or one app-role assignment (resource_id + app_role_id) for one user."""

    key: str
    user_id: str
    group_id: str | None = None
    resource_id: str | None = None
    app_role_id: str | None = None


WriteStatus = Literal["added", "present", "failed", "open"]


@dataclass(frozen=True)
class WriteResult:
    key: str
    status: WriteStatus  # added now / already in place (read back) / refused / still open (throttled, 5xx)
    code: str | None = None


class Memberships(Protocol):
    """Group memberships and app-role assignments in the target tenant (Graph, or the emulator)."""

    async def resolve_groups(self, names: Sequence[str], *, create_missing: bool) -> dict[str, ResolvedGroup]: ...
    async def resolve_app_roles(self, targets: Sequence[AppRoleTarget]) -> dict[AppRoleTarget, ResolvedAppRole]: ...
    async def write(self, writes: Sequence[GroupWrite]) -> list[WriteResult]:
        """Through $batch within the throttle budget; one result per write, in order. Safe to repeat."""


class StoredCredential(BaseModel):
    model_config = ConfigDict(frozen=True)

    object_id: str
    source: str
    legacy_id: str
    password_hash: PasswordHash
    disabled: bool = False


class CredentialVault(Protocol):
    """Legacy password hashes, encrypted at rest, keyed by Entra object id (JIT migration)."""

    async def store(self, credential: StoredCredential) -> None: ...
    async def store_many(self, credentials: Sequence[StoredCredential]) -> None: ...
    async def load(self, object_id: str) -> StoredCredential | None: ...
    async def delete(self, object_id: str) -> None: ...


@dataclass(frozen=True)
class WrittenUser:
    """A user the import created in Entra: the legacy record, the user it sent, and the object id it got."""

    user: LegacyUser
    target: TargetUser
    object_id: str


class SyncBaselines(Protocol):
    async def record(self, source: str, mapping: MappingOptions, written: Sequence[WrittenUser], now: datetime) -> None:
        """Keep, in the coexistence sync's store, the fingerprint of what was written (shared.sync.baseline)."""


class Clock(Protocol):
    def now(self) -> datetime: ...


class Telemetry(Protocol):
    def count(self, name: str, value: int = 1, **attributes: Any) -> None: ...
    def measure(self, name: str, value: float, **attributes: Any) -> None: ...


@dataclass
class Ports:
    queue: Queue
    ledger: Ledger
    chunks: ChunkStore
    exports: ExportStore
    artifacts: ArtifactStore
    directory: Directory
    clock: Clock
    telemetry: Telemetry
    vault: CredentialVault | None = None
    legacy_users: LegacyUsers | None = None  # None: every export is a file
    memberships: Memberships | None = None  # None: runs whose profile maps groups cannot assign them
    baselines: SyncBaselines | None = None  # None: the first snapshot diff compares created users with Entra itself
