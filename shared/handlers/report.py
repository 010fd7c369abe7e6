"""The run report: report.json, failures.jsonl and id-map.csv beside the planner's rejects.jsonl.

report.json keys are a user-facing contract: run_id, source, started_at, finished_at, wave (a wave's
run only), counts {total, created, already_present, rejected, failed, other_wave (a wave's run only:
records of the export that belong to another wave)}, by_reason, throughput {users_per_second,
import_users_per_second, write_quota_utilisation, …}, methods {phone|email|totp: {imported,
already_present, pending, skipped {reason: n}, failed {code: n}}} (MFA, method by method).
No secret and no personal data beyond legacy ids appear in any of them.
`users_per_second` is over the whole run, planning included (what the operator waited for);
`import_users_per_second` over the import alone (planned → finished). `write_quota_utilisation` is
the writes over what the quota allows in the whole quota windows the import spans (3,000 writes per
150 s per app: Graph counts over the window, so a short run can burst faster than 20/s without being
over the quota); `burst_writes_per_second` is the import-time rate itself.
`groups` (present when the profile maps groups): memberships and app_roles in place, the ones that failed,
writes skipped because their user isn't in Entra, and legacy names unmapped (by name) or ignored on purpose —
summed from groups.jsonl, the last line per chunk (a redelivered chunk counts once).
`RunReport` is report.json as a model: the tracker writes it, the CLI reads it back through the
ArtifactStore (`load_report`) instead of parsing a path it would have to rebuild.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import Counter
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.handlers.workflow import Workflow
from shared.outcomes import Outcome, RunState
from shared.ports import ArtifactStore, Ports

GROUPS_ARTIFACT = "groups.jsonl"  # one line per assign_groups delivery that finished a chunk

REPORT_NAME = "report.json"


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RunCounts(_Part):
    total: int
    created: int
    already_present: int
    rejected: int
    failed: int
    other_wave: int | None = None  # a wave's run: records of other waves (not written, not rejected, not in total)


class Throughput(_Part):
    users_per_second: float  # whole run, planning included
    import_users_per_second: float
    write_quota_utilisation: float  # over the quota windows the import spans: ≤ 1 when the quota held
    burst_writes_per_second: float
    run_seconds: float
    import_seconds: float
    quota_writes_per_second: float
    quota_window_seconds: float


class MethodTally(_Part):
    """One kind of MFA method across the run, method by method (a user with two phones counts twice)."""

    imported: int = 0
    already_present: int = 0
    pending: int = 0  # only in a report of an unfinished run
    skipped: dict[str, int] = {}  # reason code → methods
    failed: dict[str, int] = {}  # Graph error or reason code → methods


def tally_methods(methods: dict[str, Counter[str]]) -> dict[str, MethodTally]:
    """{kind: Counter("state" or "state:code")} → the report's per-kind tallies."""
    out: dict[str, MethodTally] = {}
    for kind, seen in sorted(methods.items()):
        by_state: dict[str, dict[str, int]] = {"skipped": {}, "failed": {}}
        plain: dict[str, int] = {}
        for key, n in seen.items():
            state, _, code = key.partition(":")
            if state in by_state:
                by_state[state][code or "unknown"] = by_state[state].get(code or "unknown", 0) + n
            else:
                plain[state] = plain.get(state, 0) + n
        out[kind] = MethodTally(**plain, skipped=dict(sorted(by_state["skipped"].items())),
                                failed=dict(sorted(by_state["failed"].items())))  # fmt: skip
    return out


class GroupCounts(_Part):
    memberships: int = 0
    memberships_failed: int = 0
    app_roles: int = 0
    app_roles_failed: int = 0
    skipped: int = 0
    ignored: int = 0
    unmapped: dict[str, int] = {}


class RunReport(_Part):
    run_id: str
    source: str
    started_at: str  # RFC 3339, as written since the first release
    finished_at: str
    wave: int | None = None
    counts: RunCounts
    by_reason: dict[str, int]
    throughput: Throughput
    methods: dict[str, MethodTally] = {}  # MFA methods by kind (phone, email, totp)
    groups: GroupCounts | None = None
    # Users put on the reset path although their record brought a password (its hash can't be
    # verified), by reason code; absent when there were none.
    reset_fallbacks: dict[str, int] | None = None


def throughput_of(run: RunState, finished: datetime, workflow: Workflow) -> Throughput:
    run_seconds = max((finished - run.started_at).total_seconds(), 1e-6)
    import_seconds = max((finished - (run.planned_at or run.started_at)).total_seconds(), 1e-6)
    import_rate = run.created / import_seconds
    windows = math.ceil(import_seconds / workflow.quota_window_s)  # the quota windows the import touched
    allowed_writes = workflow.quota_writes_per_s * workflow.quota_window_s * windows
    return Throughput(
        users_per_second=round(run.created / run_seconds, 2),
        import_users_per_second=round(import_rate, 2),
        write_quota_utilisation=round(run.created / allowed_writes, 3),
        burst_writes_per_second=round(import_rate, 2),
        run_seconds=round(run_seconds, 3),
        import_seconds=round(import_seconds, 3),
        quota_writes_per_second=round(workflow.quota_writes_per_s, 3),
        quota_window_seconds=round(workflow.quota_window_s, 3),
    )


async def load_report(artifacts: ArtifactStore, run_id: str) -> RunReport:
    return RunReport.model_validate_json(await artifacts.read_text(run_id, REPORT_NAME))


async def group_counts(artifacts: ArtifactStore, run_id: str) -> GroupCounts | None:
    try:
        text = await artifacts.read_text(run_id, GROUPS_ARTIFACT)
    except FileNotFoundError:
        return None
    last: dict[str, dict[str, Any]] = {}
    for line in text.splitlines():
        if line.strip():
            row = json.loads(line)
            last[str(row.pop("chunk"))] = row
    total: Counter[str] = Counter()
    unmapped: Counter[str] = Counter()
    for row in last.values():
        unmapped.update(row.pop("unmapped", {}))
        total.update({k: int(v) for k, v in row.items() if k in GroupCounts.model_fields})
    return GroupCounts(**total, unmapped=dict(unmapped.most_common()))


async def write_report(run: RunState, ports: Ports, workflow: Workflow) -> RunReport:
    by_reason: Counter[str] = Counter()
    failures = io.StringIO()
    id_map = io.StringIO()
    writer = csv.writer(id_map, lineterminator="\n")
    writer.writerow(["legacyId", "objectId", "outcome"])
    methods: dict[str, Counter[str]] = {}
    async for entry in ports.ledger.entries_for_run(run.run_id):
        for key, method in entry.methods.items():
            kind = key.split(":")[0].split("#")[0]
            state = method.state.value + (f":{method.code}" if method.code else "")
            methods.setdefault(kind, Counter())[state] += 1
        if entry.outcome == Outcome.FAILED:
            by_reason[entry.code or "unknown"] += 1
            failures.write(
                json.dumps(
                    {"legacyId": entry.legacy_id, "line": entry.line, "code": entry.code, "message": entry.message},
                    separators=(",", ":"),
                )
                + "\n"
            )
        elif entry.object_id and entry.outcome in (Outcome.CREATED, Outcome.ALREADY_PRESENT):
            writer.writerow([entry.legacy_id, entry.object_id, entry.outcome.value])
    by_reason.update(run.reject_reasons)

    finished = run.finished_at or ports.clock.now()
    report = RunReport(
        run_id=run.run_id,
        source=run.source,
        started_at=run.started_at.isoformat(),
        finished_at=finished.isoformat(),
        wave=run.wave,
        counts=RunCounts(
            total=run.total or 0, created=run.created, already_present=run.already_present,
            rejected=run.rejected or 0, failed=run.failed,
            other_wave=None if run.wave is None else run.other_wave,
        ),
        by_reason=dict(sorted(by_reason.items())),
        throughput=throughput_of(run, finished, workflow),
        methods=tally_methods(methods),
        groups=await group_counts(ports.artifacts, run.run_id),
        reset_fallbacks=dict(sorted(run.reset_fallbacks.items())) or None,
    )  # fmt: skip
    await ports.artifacts.write_text(run.run_id, "failures.jsonl", failures.getvalue())
    await ports.artifacts.write_text(run.run_id, "id-map.csv", id_map.getvalue())
    text = json.dumps(report.model_dump(exclude_none=True), indent=2)  # a whole-export run has no wave keys
    await ports.artifacts.write_text(run.run_id, REPORT_NAME, text + "\n")
    return report
