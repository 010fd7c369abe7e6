"""plan_export: read an export through its reader, map and preflight every record, count; write nothing.

Streams: memory is the inventory's (constant) plus the duplicate guards. Every input record ends as
valid or rejected with a reason code, so total = valid + rejected. UnreadableExport propagates.

Sources in FIELD_READERS hand over each record's fields before validation; records the fast path
(shared/planning/fast.py) is sure about are counted without building LegacyUser/TargetUser, the
rest go through the reader's validation and map_user (the reference path, `fast=False` for all).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.mapping import MappingOptions, MappingReject
from shared.planning.admission import Admission
from shared.planning.attribute_types import AttributeTypes
from shared.planning.fast import FastPlanner
from shared.planning.inventory import Inventory
from shared.profiles import MappingProfile
from shared.records import RejectedRecord, SourceRecord
from shared.sources import SourceItem, SourceOptions, SourceReject, UnmappedFeatures, get_reader
from shared.sources.assemble import finish
from shared.sources.auth0 import read_auth0_fields

FieldsReader = Callable[[Path, SourceOptions], Iterator[tuple[int, dict[str, Any]] | SourceReject]]
# Readers that can yield (line, fields) before validation; `finish(line, fields)` completes them.
FIELD_READERS: dict[str, FieldsReader] = {"auth0": read_auth0_fields}

PLAN_EXTENSIONS_APP_ID = "<appId>"  # shown as extension_<appId>_name until the tenant is known

Progress = Callable[[int], None]


def _plan_password() -> str:
    # Planning sends nothing, so it skips 32 CSPRNG draws per user (half of its time otherwise).
    return "Plan-only-placeholder-0"


@dataclass
class PlanResult:
    source: str
    export: str
    tenant: str
    apps: int
    inventory: Inventory
    options: MappingOptions
    profile: MappingProfile
    unmapped: UnmappedFeatures
    guard_bytes: int = 0
    warnings: list[str] = field(default_factory=list)
    fast_records: int = 0  # records counted by the fast path (the rest went through LegacyUser/map_user)


def plan_export(
    export: Path,
    profile: MappingProfile,
    *,
    tenant: str,
    apps: int = 1,
    progress: Progress | None = None,
    progress_every: int = 10_000,
    fast: bool = True,
) -> PlanResult:
    """`fast=False` plans every record through LegacyUser and map_user (the reference the tests compare to)."""
    reader = get_reader(profile.source)
    source_options = profile.source_options()
    unmapped = source_options.unmapped
    # Attribute types over the whole export first (never the first record's), as the run's plan stage does.
    types = AttributeTypes(profile.mapping_options(tenant, PLAN_EXTENSIONS_APP_ID))
    types.observe_all(reader(export, profile.source_options()))
    options = types.options_with_types()
    inventory = Inventory()
    admission = Admission(options)
    fields_reader = FIELD_READERS.get(profile.source) if fast else None
    items: Iterator[SourceItem | tuple[int, dict[str, Any]]]
    items = reader(export, source_options) if fields_reader is None else fields_reader(export, source_options)
    planner = FastPlanner(options, inventory)
    accepts, count = planner.accepts, planner.count
    first_sighting, claim = admission.first_sighting, admission.claim
    admitted = inventory.admitted

    def observe(record: SourceRecord) -> None:
        inventory.observe(record.user, options)

    seen = fast_records = 0
    for item in items:
        seen += 1
        if progress is not None and seen % progress_every == 0:
            progress(seen)
        if isinstance(item, tuple):
            line, fields = item
            if not accepts(fields):
                source_item = finish(line, fields)  # not sure: validate it, then the reference path below
            else:
                fast_records += 1
                legacy_id: str = fields["legacyId"]
                if not first_sighting(legacy_id):
                    _reject(inventory, admission.duplicate_legacy_id(line, legacy_id))
                    continue
                outcome = count(fields)
                if isinstance(outcome, MappingReject):
                    inventory.reject(line, legacy_id, outcome.code, outcome.message)
                    continue
                path, keys = outcome
                clash = claim(keys)
                if clash is not None:
                    _reject(inventory, admission.duplicate_identity(line, legacy_id, clash))
                    continue
                admitted(path)
                continue
        else:
            source_item = item
        if isinstance(source_item, RejectedRecord):
            _reject(inventory, source_item)
            continue
        verdict = admission.admit(source_item, random_password=_plan_password, observe=observe)
        if isinstance(verdict, RejectedRecord):
            _reject(inventory, verdict)
            continue
        inventory.mapped(verdict)
        if source_item.user.mfa and not isinstance(verdict, MappingReject):
            inventory.methods(source_item.user)
    if progress is not None:
        progress(seen)
    inventory.duplicates.update(admission.duplicates)
    return PlanResult(
        source=profile.source,
        export=str(export),
        tenant=tenant,
        apps=apps,
        inventory=inventory,
        options=options,
        profile=profile,
        unmapped=unmapped,
        guard_bytes=admission.memory_bytes,
        warnings=profile.warnings(),
        fast_records=fast_records,
    )


def export_bounds(export: Path, profile: MappingProfile) -> tuple[int, int, int]:
    """One read of the export: (records, most attributes on one record, distinct attribute names). Each bounds
    what a full plan counts from above (shared.planning.constraints.cannot_block); unreadable input raises as
    plan_export's first read does."""
    records = most = 0
    names: set[str] = set()
    for item in get_reader(profile.source)(export, profile.source_options()):
        if isinstance(item, SourceRecord):
            records += 1
            attributes = item.user.attributes
            most = max(most, len(attributes))
            names.update(attributes)
    return records, most, len(names)


def _reject(inventory: Inventory, reject: RejectedRecord) -> None:
    inventory.reject(reject.line, reject.legacy_id, reject.code, reject.message)
