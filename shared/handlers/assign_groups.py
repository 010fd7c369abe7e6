"""assign groups: give an imported chunk's users the Entra groups and app roles their legacy groups map to.

In: AssignGroups (sent by import chunk, once every user of the chunk has an outcome). Out: ChunkImported, or a
continuation AssignGroups (`…:attempt-N`) while Graph throttles or fails past the inline retries.
Exactly once without a ledger row per membership: a membership or assignment is a set element in Entra (a
second write is a 400, which the adapter reads back as `present`), and groups are upserted by a deterministic
uniqueName, so a redelivery, a continuation, a kill -9 or a 504 after commit re-sends and lands nowhere twice.
The chunk's tally (in place / failed / unmapped) is written to `groups.jsonl` before ChunkImported is emitted
(checkpoint before emit); the report keeps the last line per chunk.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import timedelta

from shared.errors import RunNotFound
from shared.groups import AppRoleTarget, GroupMapping, UserGrants
from shared.handlers.chunk_progress import ChunkProgress
from shared.handlers.import_chunk import chunk_imported
from shared.handlers.options import mapping_from_dict
from shared.handlers.report import GROUPS_ARTIFACT
from shared.handlers.workflow import Workflow
from shared.messages import AssignGroups, Envelope, ImportChunk, envelope_id
from shared.outcomes import Outcome
from shared.ports import GroupWrite, Memberships, Ports, WriteResult

logger = logging.getLogger(__name__)



async def assign_groups(command: AssignGroups, ports: Ports, workflow: Workflow) -> list[Envelope]:
    run = await ports.ledger.get_run(command.run_id)
    if run is None:
        raise RunNotFound(f"run {command.run_id} is not in the ledger")
    if run.abandoned_at is not None:
        return []
    mapping = mapping_from_dict(run.mapping).groups
    entries = await ports.chunks.get(command.run_id, command.chunk_id)
    known = await ports.ledger.get_many(command.source, [e.user.legacy_id for e in entries])
    tally: Counter[str] = Counter()
    unmapped: Counter[str] = Counter()
    grants: dict[str, UserGrants] = {}
    for item in entries:
        entry = known.get(item.user.legacy_id)
        grant = mapping.grants(item.user.groups)
        unmapped.update(grant.unmapped)
        tally["ignored"] += len(grant.ignored)
        if entry is None or entry.object_id is None or entry.outcome not in (Outcome.CREATED, Outcome.ALREADY_PRESENT):
            tally["skipped"] += grant.writes  # the user isn't in Entra: nothing to join
            continue
        grants[entry.object_id] = grant
    writes, problems = await _plan_writes(grants, mapping, _port(ports))
    results = await _port(ports).write(writes) if writes else []
    still_open = [r for r in results if r.status == "open"]
    if still_open and command.attempt + 1 < workflow.max_attempts:
        return [_continuation(command, still_open, ports, workflow)]
    _count(tally, writes, results, problems)
    line = {"chunk": command.chunk_id, **tally, "unmapped": dict(unmapped)}
    await ports.artifacts.append_lines(command.run_id, GROUPS_ARTIFACT, [json.dumps(line, separators=(",", ":"))])
    ports.telemetry.count("memberships_in_place", tally["memberships"])
    ports.telemetry.count("app_roles_in_place", tally["app_roles"])
    progress = ChunkProgress(_as_import(command), entries, known, ports)
    return [await chunk_imported(progress, workflow)]


def _port(ports: Ports) -> Memberships:
    if ports.memberships is None:
        raise RuntimeError("this host has no Memberships port; it cannot assign the profile's groups")
    return ports.memberships


async def _plan_writes(
    typed: dict[str, UserGrants], mapping: GroupMapping, port: Memberships
) -> tuple[list[GroupWrite], Counter[str]]:
    """One write per (user, Entra group) and (user, app role) that resolved; the rest counted by reason."""
    group_names = sorted({name for g in typed.values() for name in g.groups})
    role_targets = sorted({r for g in typed.values() for r in g.app_roles}, key=lambda r: (r.app, r.role))
    groups = await port.resolve_groups(group_names, create_missing=mapping.create_missing) if group_names else {}
    roles = await port.resolve_app_roles(role_targets) if role_targets else {}
    for problem in [g.problem for g in groups.values()] + [r.problem for r in roles.values()]:
        if problem:
            logger.warning("group mapping: %s", problem)
    writes: list[GroupWrite] = []
    problems: Counter[str] = Counter()
    for user_id, grant in typed.items():
        for name in grant.groups:
            group_id = groups[name].group_id
            if group_id is None:
                problems["group_unresolved"] += 1
                continue
            writes.append(GroupWrite(key=f"g|{user_id}|{group_id}", user_id=user_id, group_id=group_id))
        for target in grant.app_roles:
            role = roles[target]
            if role.resource_id is None or role.app_role_id is None:
                problems["app_role_unresolved"] += 1
                continue
            writes.append(_role_write(user_id, target, role.resource_id, role.app_role_id))
    return writes, problems


def _role_write(user_id: str, target: AppRoleTarget, resource_id: str, app_role_id: str) -> GroupWrite:
    del target  # the key is what Graph keys the assignment by
    return GroupWrite(
        key=f"r|{user_id}|{resource_id}|{app_role_id}", user_id=user_id, resource_id=resource_id,
        app_role_id=app_role_id,
    )  # fmt: skip


def _count(tally: Counter[str], writes: list[GroupWrite], results: list[WriteResult], problems: Counter[str]) -> None:
    for write, result in zip(writes, results, strict=True):
        kind = "memberships" if write.group_id is not None else "app_roles"
        if result.status in ("added", "present"):
            tally[kind] += 1
        else:
            tally[f"{kind}_failed"] += 1
    tally["memberships_failed"] += problems["group_unresolved"]
    tally["app_roles_failed"] += problems["app_role_unresolved"]


def _continuation(command: AssignGroups, still_open: list[WriteResult], ports: Ports, workflow: Workflow) -> Envelope:
    delay = 2.0 ** min(command.attempt + 1, 6)
    logger.info("chunk %s: %d group writes still open, continuing in %.0fs", command.chunk_id, len(still_open), delay)
    nxt = command.model_copy(update={"attempt": command.attempt + 1})
    return Envelope(
        id=envelope_id(command.run_id, "groups", command.chunk_id, nxt.attempt),
        queue=workflow.group_assignments_queue,
        not_before=ports.clock.now() + timedelta(seconds=delay),
        payload=nxt,
    )


def _as_import(command: AssignGroups) -> ImportChunk:
    return ImportChunk(run_id=command.run_id, source=command.source, chunk_id=command.chunk_id)
