"""plan_export: read an export through its reader, map and preflight every record, count; write nothing.

Streams: memory is the inventory's (constant) plus the duplicate guards. Every input record ends as
valid or rejected with a reason code, so total = valid + rejected. UnreadableExport propagates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from shared.mapping import MappingOptions, MappingReject, map_user
from shared.planning.guard import DuplicateGuard
from shared.planning.inventory import Inventory
from shared.profiles import MappingProfile
from shared.reasons import Reason
from shared.records import TargetUser
from shared.sources import SourceReject, UnmappedFeatures, get_reader

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


def plan_export(
    export: Path,
    profile: MappingProfile,
    *,
    tenant: str,
    apps: int = 1,
    progress: Progress | None = None,
    progress_every: int = 10_000,
) -> PlanResult:
    reader = get_reader(profile.source)
    source_options = profile.source_options()
    unmapped = UnmappedFeatures()
    source_options.settings["unmapped"] = unmapped
    options = profile.mapping_options(tenant, PLAN_EXTENSIONS_APP_ID)
    inventory = Inventory()
    legacy_ids = DuplicateGuard()
    sign_in_names = DuplicateGuard()
    seen = 0
    for item in reader(export, source_options):
        seen += 1
        if progress is not None and seen % progress_every == 0:
            progress(seen)
        if isinstance(item, SourceReject):
            inventory.reject(item.line, item.legacy_id, item.code, item.message)
            continue
        user = item.user
        if not legacy_ids.add(user.legacy_id):
            inventory.duplicates["legacy_ids"] += 1
            inventory.reject(
                item.line, user.legacy_id, Reason.DUPLICATE_LEGACY_ID, "legacyId already seen earlier in the export"
            )
            continue
        inventory.observe(user, options)
        target = map_user(user, options, random_password=_plan_password)
        if isinstance(target, MappingReject):
            inventory.reject(item.line, user.legacy_id, target.code, target.message)
            continue
        clash = _first_clash(target, sign_in_names)
        if clash is not None:
            inventory.duplicates[clash] += 1
            inventory.reject(
                item.line, user.legacy_id, Reason.DUPLICATE_IDENTITY, f"{clash[:-1]} already used by an earlier user"
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
    )


_CLASH_NAMES = {"emailAddress": "emails", "userName": "usernames", "federated": "federated_ids"}


def _first_clash(target: TargetUser, guard: DuplicateGuard) -> str | None:
    """The kind of sign-in name an earlier user already holds, or None (then all are remembered)."""
    keys = [
        (f"{i.sign_in_type}\x1f{i.issuer.lower()}\x1f{i.issuer_assigned_id.lower()}", i.sign_in_type)
        for i in target.identities
    ]
    for key, kind in keys:
        if key in guard:
            return _CLASH_NAMES.get(kind, "identities")
    for key, _ in keys:
        guard.add(key)
    return None
