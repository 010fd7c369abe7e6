"""Messages between stages: one pydantic model per type, all inside one Envelope.

Message ids are deterministic (`run:stage:key`) so Service Bus duplicate detection (and the local
queue's) drops re-sends; a continuation after throttling gets `…:attempt-N`. Chunks travel by claim
check: an ImportChunk names a chunk in the ChunkStore, never carries users.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_MESSAGE_BYTES = 64 * 1024


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PlanExport(_Message):
    """An export file is ready: stream it, map it, write chunks, emit one ImportChunk per chunk."""

    type: Literal["PlanExport"] = "PlanExport"
    run_id: str
    source: str
    export_ref: str  # a path (local) or blob name (Azure) the ExportStore can open
    mapping_ref: str | None = None
    chunk_size: int = Field(default=500, ge=1, le=5000)
    wave: int | None = Field(default=None, ge=1)  # plan only this wave's users (the ledger's wave plan)


class ExportDropped(_Message):
    """A blob was created in the export container (Event Grid BlobCreated): plan it if it is an export drop.

    Built from the event by shared/event_grid.py; `run_id` is the run the drop starts (blob name + eTag digest).
    """

    type: Literal["ExportDropped"] = "ExportDropped"
    run_id: str
    event_id: str
    container: str
    blob_name: str
    e_tag: str
    content_length: int = Field(ge=0)


class ImportChunk(_Message):
    """Create the users of one chunk. Idempotent by (source, legacyId) through the ledger."""

    type: Literal["ImportChunk"] = "ImportChunk"
    run_id: str
    source: str
    chunk_id: str
    attempt: int = 0


class AssignGroups(_Message):
    """Give one imported chunk's users their mapped group memberships and app roles, then report the chunk."""

    type: Literal["AssignGroups"] = "AssignGroups"
    run_id: str
    source: str
    chunk_id: str
    attempt: int = 0


class ChunkImported(_Message):
    """One chunk is finished: every user in it has an outcome in the ledger."""

    type: Literal["ChunkImported"] = "ChunkImported"
    run_id: str
    chunk_id: str
    created: int = 0
    already_present: int = 0
    failed: int = 0


class ExportPlanned(_Message):
    """Planning finished: the tracker now knows how many chunks to wait for."""

    type: Literal["ExportPlanned"] = "ExportPlanned"
    run_id: str
    total: int
    rejected: int
    chunks: int


class RunCompleted(_Message):
    type: Literal["RunCompleted"] = "RunCompleted"
    run_id: str


class LegacyChange(_Message):
    """A legacy user changed (a feed hint): re-read them and apply. Ids and op only, never values or secrets.

    `run_id` names the sync (`sync-<source>`); the session id is (source, legacyId) so one user's changes are
    applied in order; the id is deterministic (`sync-<source>:change:<change id>`) so re-sends are dropped.
    """

    type: Literal["LegacyChange"] = "LegacyChange"
    run_id: str
    source: str
    legacy_id: str
    change_id: str
    op: Literal["create", "update", "disable", "enable", "delete", "password", "unknown"] = "unknown"
    seq: int | None = None
    attempt: int = 0


class AlertRaised(_Message):
    """An alert rule fired: one per (key, window); dispatch_alert notifies once however often it is delivered."""

    type: Literal["AlertRaised"] = "AlertRaised"
    run_id: str = "monitoring"  # every message names its workflow; alerts belong to the monitoring one
    key: str  # rule name, plus its group (e.g. a source) for grouped rules
    window: str  # the notification window id
    rule: str
    severity: int = Field(ge=0, le=4)
    summary: str
    value: float
    threshold: float
    raised_at: datetime


Payload = Annotated[
    ExportDropped | PlanExport | ImportChunk | AssignGroups | ChunkImported | ExportPlanned | RunCompleted
    | LegacyChange | AlertRaised,
    Field(discriminator="type"),
]


class Envelope(_Message):
    """What goes on a queue. `id` is deterministic; `not_before` schedules a continuation."""

    id: str
    queue: str
    session_id: str | None = None
    not_before: datetime | None = None
    payload: Payload


def envelope_id(run_id: str, stage: str, key: str, attempt: int = 0) -> str:
    base = f"{run_id}:{stage}:{key}"
    return base if attempt == 0 else f"{base}:attempt-{attempt}"
