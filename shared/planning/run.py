"""plan_export: read an export through its reader, map and preflight every record, count; write nothing.

Streams: memory is the inventory's (constant) plus the duplicate guards. Every input record ends as
valid or rejected with a reason code, so total = valid + rejected. UnreadableExport propagates.

One path for every source, the run's plan stage's too: the reader validates each record into a
LegacyUser, shared.planning.admission decides it (shared.mapping.decide: map_user's rule without
building the TargetUser). The export is read once while every attribute keeps one dataType
(shared/planning/attribute_types.py); an export that mixes them is read twice, types first.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from shared.mapping import MappingOptions
from shared.planning.admission import Admission
from shared.planning.attribute_types import AttributeTypes, MixedAttributeTypes
from shared.planning.inventory import Inventory
from shared.profiles import MappingProfile
from shared.records import RejectedRecord, SourceRecord
from shared.sources import UnmappedFeatures, get_reader

PLAN_EXTENSIONS_APP_ID = "<appId>"  # shown as extension_<appId>_name until the tenant is known

Progress = Callable[[int], None]


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
    reads: int = 1  # times the export was opened: 3 when its attributes mix dataTypes (see plan_export)


def plan_export(
    export: Path,
    profile: MappingProfile,
    *,
    tenant: str,
    apps: int = 1,
    progress: Progress | None = None,
    progress_every: int = 10_000,
    types_first: bool = False,
) -> PlanResult:
    """One read while every attribute keeps one dataType; else that read stops where the mix shows and
    the export is read twice more, attribute types first. `types_first` reads it twice, types first,
    even when one read would do: what a one-read plan must equal (the tests compare them)."""
    declared = profile.mapping_options(tenant, PLAN_EXTENSIONS_APP_ID)
    reads = 2
    if not types_first:
        with contextlib.suppress(MixedAttributeTypes):
            return _plan(export, profile, declared, progress, progress_every, tenant=tenant, apps=apps)
        reads = 3
    # Attribute types over the whole export first (never the first record's), as the run's plan stage does.
    types = AttributeTypes(declared)
    types.observe_all(get_reader(profile.source)(export, profile.source_options()))
    typed = types.options_with_types()
    result = _plan(export, profile, typed, progress, progress_every, tenant=tenant, apps=apps, typed=True)
    result.reads = reads
    return result


def _plan(
    export: Path,
    profile: MappingProfile,
    options: MappingOptions,
    progress: Progress | None,
    progress_every: int,
    *,
    tenant: str,
    apps: int,
    typed: bool = False,
) -> PlanResult:
    """One read. `typed`: options hold every attribute's type; else they are tallied as records come."""
    source_options = profile.source_options()
    tally = None if typed else AttributeTypes(options, provisional=True)
    inventory = Inventory()
    admission = Admission(options)
    verdict, reject = admission.verdict, inventory.reject
    observe_types = None if tally is None else tally.observe
    observe_user, admitted, methods = inventory.observe, inventory.admitted, inventory.methods

    def observe(record: SourceRecord) -> None:
        observe_user(record.user, options)

    seen = 0
    for item in get_reader(profile.source)(export, source_options):
        seen += 1
        if progress is not None and seen % progress_every == 0:
            progress(seen)
        if isinstance(item, RejectedRecord):
            reject(item.line, item.legacy_id, item.code, item.message)
            continue
        if observe_types is not None:
            observe_types(item.user.attributes)
        decision = verdict(item, observe)
        if isinstance(decision, RejectedRecord):
            reject(decision.line, decision.legacy_id, decision.code, decision.message)
            continue
        admitted(decision.password_path, decision.reset_because)
        if item.user.mfa:
            methods(item.user)
    if progress is not None:
        progress(seen)
    inventory.duplicates.update(admission.duplicates)
    return PlanResult(
        source=profile.source,
        export=str(export),
        tenant=tenant,
        apps=apps,
        inventory=inventory,
        options=options if tally is None else tally.options_with_types(),
        profile=profile,
        unmapped=source_options.unmapped,
        guard_bytes=admission.memory_bytes,
        warnings=profile.warnings(),
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
