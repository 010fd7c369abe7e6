"""plan_export: read an export through its reader, map and preflight every record, count; write nothing.

Streams: memory is the inventory's (constant) plus the duplicate guards. Every input record ends as
valid or rejected with a reason code, so total = valid + rejected. UnreadableExport propagates.

Sources in FIELD_READERS hand over each record's fields before validation; records the fast path
(shared/planning/fast.py) is sure about are counted without building LegacyUser/TargetUser, the
rest go through the reader's validation and map_user (the reference path, `fast=False` for all).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.mapping import MappingOptions, MappingReject, map_user
from shared.planning.fast import FastPlanner, clash_name
from shared.planning.guard import DuplicateGuard, digest
from shared.planning.inventory import Inventory
from shared.profiles import MappingProfile
from shared.reasons import Reason
from shared.records import TargetUser
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
    options = profile.mapping_options(tenant, PLAN_EXTENSIONS_APP_ID)
    inventory = Inventory()
    legacy_ids = DuplicateGuard()
    sign_in_names = DuplicateGuard()
    fields_reader = FIELD_READERS.get(profile.source) if fast else None
    items: Iterator[SourceItem | tuple[int, dict[str, Any]]]
    items = reader(export, source_options) if fields_reader is None else fields_reader(export, source_options)
    planner = FastPlanner(options, inventory)
    accepts, count = planner.accepts, planner.count
    add_legacy_id = legacy_ids.add
    password_paths = inventory.password_paths
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
                if not add_legacy_id(legacy_id):
                    inventory.duplicates["legacy_ids"] += 1
                    inventory.reject(
                        line, legacy_id, Reason.DUPLICATE_LEGACY_ID, "legacyId already seen earlier in the export"
                    )
                    continue
                outcome = count(fields)
                if isinstance(outcome, MappingReject):
                    inventory.reject(line, legacy_id, outcome.code, outcome.message)
                    continue
                path, keys = outcome
                clash = _clash(keys, sign_in_names)
                if clash is not None:
                    inventory.duplicates[clash] += 1
                    inventory.reject(
                        line, legacy_id, Reason.DUPLICATE_IDENTITY, f"{clash[:-1]} already used by an earlier user"
                    )
                    continue
                inventory.valid += 1
                inventory.total += 1
                password_paths[path] += 1
                continue
        else:
            source_item = item
        if isinstance(source_item, SourceReject):
            inventory.reject(source_item.line, source_item.legacy_id, source_item.code, source_item.message)
            continue
        line, user = source_item.line, source_item.user
        if not legacy_ids.add(user.legacy_id):
            inventory.duplicates["legacy_ids"] += 1
            inventory.reject(
                line, user.legacy_id, Reason.DUPLICATE_LEGACY_ID, "legacyId already seen earlier in the export"
            )
            continue
        inventory.observe(user, options)
        target = map_user(user, options, random_password=_plan_password)
        if isinstance(target, MappingReject):
            inventory.reject(line, user.legacy_id, target.code, target.message)
            continue
        clash = _first_clash(target, sign_in_names)
        if clash is not None:
            inventory.duplicates[clash] += 1
            inventory.reject(
                line, user.legacy_id, Reason.DUPLICATE_IDENTITY, f"{clash[:-1]} already used by an earlier user"
            )
            continue
        inventory.mapped(target)
    if progress is not None:
        progress(seen)
    return PlanResult(
        source=profile.source,
        export=str(export),
        tenant=tenant,
        apps=apps,
        inventory=inventory,
        options=options,
        profile=profile,
        unmapped=unmapped,
        guard_bytes=legacy_ids.memory_bytes + sign_in_names.memory_bytes,
        warnings=profile.warnings(),
        fast_records=fast_records,
    )


def _first_clash(target: TargetUser, guard: DuplicateGuard) -> str | None:
    """The kind of sign-in name an earlier user already holds, or None (then all are remembered)."""
    keys = [
        (f"{i.sign_in_type}\x1f{i.issuer.lower()}\x1f{i.issuer_assigned_id.lower()}", i.sign_in_type)
        for i in target.identities
    ]
    return _clash(keys, guard)


def _clash(keys: Sequence[tuple[str, str]], guard: DuplicateGuard) -> str | None:
    """Like _first_clash, for (guard key, signInType) pairs; each key is hashed once."""
    if len(keys) == 1:  # the usual case: one sign-in name
        key, kind = keys[0]
        if guard.add(key):
            return None
        return clash_name(kind)
    digests = [digest(key) for key, _ in keys]
    for key_digest, (_, kind) in zip(digests, keys, strict=True):
        if guard.holds(key_digest):
            return clash_name(kind)
    for key_digest in digests:
        guard.add_digest(key_digest)
    return None
