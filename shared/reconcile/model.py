"""What reconcile reports: one Difference per user and field, and the ReconcileResult summing them.

Kinds: `missing_in_target` (a legacy user the import would create is not in the tenant), `orphan_not_ours`
(a tenant user the ledger never linked: created outside the tool), `orphan_not_in_legacy` (ours, but no
longer in the export), `field_mismatch` (mapped value ≠ tenant value), `enabled_mismatch` (accountEnabled),
`migration_flag` (the JIT flag says "migrate" but there is nothing to migrate with, or vice versa).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class DifferenceKind(StrEnum):
    MISSING_IN_TARGET = "missing_in_target"
    ORPHAN_NOT_OURS = "orphan_not_ours"
    ORPHAN_NOT_IN_LEGACY = "orphan_not_in_legacy"
    FIELD_MISMATCH = "field_mismatch"
    ENABLED_MISMATCH = "enabled_mismatch"
    MIGRATION_FLAG = "migration_flag"


class Difference(BaseModel):
    """One difference. `expected` is the mapped legacy value, `actual` the tenant's; never a secret."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, serialize_by_alias=True)

    kind: DifferenceKind
    legacy_id: str | None = Field(default=None, alias="legacyId")
    object_id: str | None = Field(default=None, alias="objectId")
    field: str | None = None
    expected: Any = None
    actual: Any = None
    line: int | None = None
    detail: str | None = None


class ReconcileResult(BaseModel):
    """Counts of one reconcile, the first differences, and where the full list is."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    source: str
    export: str
    started_at: datetime = Field(alias="startedAt")
    finished_at: datetime = Field(alias="finishedAt")
    legacy_users: int = Field(alias="legacyUsers")  # admitted records: the users the import would create
    legacy_rejected: int = Field(alias="legacyRejected")  # records the import rejects too: not compared
    tenant_users: int = Field(alias="tenantUsers")
    matched_users: int = Field(alias="matchedUsers")
    users_with_differences: int = Field(alias="usersWithDifferences")
    differences: int
    by_kind: dict[str, int] = Field(alias="byKind")
    by_field: dict[str, int] = Field(alias="byField")
    flag_states: dict[str, int] = Field(alias="flagStates")
    first: list[Difference]
    peak_work_rows: int = Field(default=0, alias="peakWorkRows")  # rows held in memory at once (bounded)
