"""run_checklist: each decommission item verified against the migration's state, with its evidence.

Items, in order: no open users, reconcile clean, sync drained and stopped, no legacy-credential sign-ins for
the refresh-token lifetime, vault empty, JIT listener removable, reports archived, chunks and exports
deleted. An item holds only on evidence: no data (no reconcile, no sign-in metrics) is "no evidence", which
does not hold. Reads the state; writes only the archive (and never the tenant, ledger, vault or sync).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from shared.decommission.archive import RUN_ARTIFACTS, verify_archive, write_archive
from shared.monitoring.metrics import SIGNIN_OUTCOMES, STAGE_RUN
from shared.monitoring.store import MonitorStore
from shared.outcomes import Outcome, RunState
from shared.ports import Ledger
from shared.reconcile.report import load_last
from shared.sync.model import CursorState

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
OPEN_OUTCOMES = frozenset({Outcome.PENDING, Outcome.DEFERRED})
JIT_WAITING = ("jit_pending", "flagged_without_vaulted_hash", "flagged_without_legacy_hash")


class SyncState(Protocol):
    async def sources(self) -> list[str]: ...
    async def get_cursor(self, source: str) -> CursorState | None: ...
    async def live_poll_holder(self, source: str, now: datetime) -> str | None: ...


@dataclass(frozen=True)
class CheckResult:
    name: str
    holds: bool
    evidence: str


@dataclass
class DecommissionState:
    state: Path
    ledger: Ledger
    open_messages: dict[str, int]  # {queue: ready or leased messages}
    changes_queue: str
    now: datetime
    refresh_token_days: float
    poll_interval_s: float
    archive: Path
    sync: SyncState | None = None
    monitor: MonitorStore | None = None
    vault_hashes: int | None = None  # None: no vault in this state
    longtail_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    longtail_last_change: datetime | None = None
    exports: Sequence[Path] = ()


async def _open_users(s: DecommissionState, runs: list[RunState]) -> CheckResult:
    counts = {o.value: 0 for o in OPEN_OUTCOMES}
    for run in runs:
        async for entry in s.ledger.entries_for_run(run.run_id):
            if entry.outcome in OPEN_OUTCOMES:
                counts[entry.outcome.value] += 1
    unfinished = [r.run_id for r in runs if r.finished_at is None and r.abandoned_at is None]
    queued = {q: n for q, n in s.open_messages.items() if q != s.changes_queue}
    holds = not unfinished and not any(counts.values()) and not queued
    evidence = (f"{len(runs)} runs ({len(unfinished)} unfinished{': ' + ', '.join(unfinished) if unfinished else ''}); "
                f"{counts['pending']} pending, {counts['deferred']} deferred users; "
                f"open import messages: {sum(queued.values())}")  # fmt: skip
    return CheckResult("no pending or deferred users", holds, evidence)


async def _reconcile(s: DecommissionState, runs: list[RunState]) -> tuple[CheckResult, dict[str, Any] | None]:
    name = "0 reconcile differences"
    last = load_last(s.state)
    if last is None:
        return CheckResult(name, False, "no evidence: no reconcile in this state (run `ciam-migrate reconcile`)"), None
    at = datetime.fromisoformat(str(last["finishedAt"]))
    where = last.get("reports", {}).get("json") or last.get("reports", {}).get("html", "")
    newer = [t for t in [*(r.finished_at for r in runs), s.longtail_last_change] if t is not None and t > at]
    if newer:
        return CheckResult(name, False, f"the last reconcile ({at.isoformat()}) is older than a run or the long tail "
                                        f"({max(newer).isoformat()}): reconcile again"), last  # fmt: skip
    diffs = int(last["differences"])
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(last.get("byKind", {}).items())) or "none"
    evidence = (f"reconcile of {last.get('export')} at {at.isoformat()}: {diffs} differences ({kinds}) over "
                f"{last.get('legacyUsers')} legacy and {last.get('tenantUsers')} tenant users; {where}")  # fmt: skip
    return CheckResult(name, diffs == 0, evidence), last


async def _sync(s: DecommissionState) -> CheckResult:
    name = "sync drained and stopped"
    sources = await s.sync.sources() if s.sync is not None else []
    queued = s.open_messages.get(s.changes_queue, 0)
    if not sources:
        return CheckResult(name, queued == 0, f"the sync never ran in this state; {queued} legacy changes queued")
    problems, facts = [], []
    quiet_since = s.now - timedelta(seconds=2 * s.poll_interval_s)
    for source in sources:
        cursor = await s.sync.get_cursor(source) if s.sync is not None else None
        holder = await s.sync.live_poll_holder(source, s.now) if s.sync is not None else None
        last_poll = cursor.last_poll_at if cursor else None
        reached = cursor.last_success_at if cursor else None
        facts.append(f"{source}: last poll {last_poll.isoformat() if last_poll else 'never'}, "
                     f"last reached the feed's end {reached.isoformat() if reached else 'never'}")  # fmt: skip
        if holder is not None:
            problems.append(f"{source}: a poll is running now ({holder})")
        if last_poll is not None and (reached is None or reached < last_poll):
            problems.append(f"{source}: the last poll did not reach the feed's end (not drained)")
        if last_poll is not None and last_poll > quiet_since:
            problems.append(f"{source}: polled within the last {2 * s.poll_interval_s:g} s (still scheduled?)")
    if queued:
        problems.append(f"{queued} legacy changes still queued")
    return CheckResult(name, not problems, "; ".join(problems + facts))


async def _sign_ins(s: DecommissionState) -> CheckResult:
    days = s.refresh_token_days
    name = f"no legacy-credential sign-ins for {days:g} days (the refresh-token lifetime)"
    if s.monitor is None:
        return CheckResult(name, False, "no evidence: no sign-in metrics in this state (monitor.db)")
    start = s.now - timedelta(days=days)
    runs = [p for p in await s.monitor.points(STAGE_RUN, EPOCH, s.now) if p.dimensions.get("stage") == "ingest_signins"]
    if not runs:
        return CheckResult(name, False, "no evidence: sign-in ingestion never ran in this state")
    first, last = runs[0].at, runs[-1].at
    if first > start:
        covered = (s.now - first).total_seconds() / 86400
        return CheckResult(name, False, f"no evidence for the whole window: sign-ins ingested since "
                                        f"{first.isoformat()} ({covered:.1f} of {days:g} days)")  # fmt: skip
    if last < s.now - timedelta(days=1):
        return CheckResult(name, False, f"no evidence since {last.isoformat()}: sign-in ingestion stopped then")
    points = await s.monitor.points(SIGNIN_OUTCOMES, start, s.now)
    legacy = [p for p in points if p.dimensions.get("jit") == "called"]
    total = sum(int(p.value) for p in points)
    if legacy:
        apps = sorted({p.dimensions.get("app", "none") for p in legacy})
        return CheckResult(name, False, f"{sum(int(p.value) for p in legacy)} sign-ins used a legacy credential "
                                        f"(JIT) since {start.date()}, the last at {legacy[-1].at.isoformat()}; "
                                        f"apps: {', '.join(apps)}")  # fmt: skip
    apps = sorted({p.dimensions.get("app", "none") for p in points})
    return CheckResult(name, True, f"0 of {total} sign-ins since {start.date()} used a legacy credential; "
                                   f"ingestion ran from {first.isoformat()} to {last.isoformat()}; "
                                   f"apps: {', '.join(apps) or 'none'}")  # fmt: skip


def _vault(s: DecommissionState) -> CheckResult:
    name = "vault empty (or long tail applied)"
    tail = json.dumps(s.longtail_counts) if s.longtail_counts else "never applied"
    if s.vault_hashes is None:
        return CheckResult(name, True, f"no vault in this state; long tail: {tail}")
    if s.vault_hashes:
        return CheckResult(name, False, f"{s.vault_hashes} legacy hashes still in the vault (run "
                                        f"`ciam-migrate longtail`); long tail: {tail}")  # fmt: skip
    return CheckResult(name, True, f"0 hashes in the vault; long tail: {tail}")


def _jit(s: DecommissionState, last: dict[str, Any] | None) -> CheckResult:
    name = "JIT listener removable"
    if last is None:
        return CheckResult(name, False, "no evidence: no reconcile to count the users still flagged for JIT")
    states = last.get("flagStates", {})
    waiting = sum(int(states.get(k, 0)) for k in JIT_WAITING)
    hashes = s.vault_hashes or 0
    evidence = (f"{waiting} users flagged for JIT in the tenant at the last reconcile, {hashes} hashes in the vault; "
                f"flag states {json.dumps(states)}")  # fmt: skip
    return CheckResult(name, waiting == 0 and hashes == 0, evidence)


def _archive(s: DecommissionState, runs: list[RunState]) -> CheckResult:
    name = "reports archived"
    members: list[tuple[str, bytes]] = []
    missing: list[str] = []
    for run in runs:
        folder = s.state / "runs" / run.run_id
        for artifact in RUN_ARTIFACTS:
            path = folder / artifact
            if path.is_file():
                members.append((f"runs/{run.run_id}/{artifact}", path.read_bytes()))
            elif artifact == "report.json" and run.finished_at is not None:
                missing.append(f"runs/{run.run_id}/{artifact}")
    reconcile = s.state / "reconcile" / "last.json"
    if reconcile.is_file():
        members.append(("reconcile/last.json", reconcile.read_bytes()))
    if s.longtail_counts:
        members.append(("longtail/counts.json", json.dumps(s.longtail_counts, indent=2).encode()))
    written, digest = write_archive(s.archive, members)
    problems = verify_archive(s.archive) + [f"{m}: missing" for m in missing]
    evidence = (f"{s.archive}: {written} files from {len(runs)} runs, archive sha256 {digest}; "
                + ("manifest verified" if not problems else "; ".join(problems)))  # fmt: skip
    return CheckResult(name, not problems, evidence)


def _deleted(s: DecommissionState, runs: list[RunState]) -> CheckResult:
    chunks = sorted(s.state.glob("runs/*/chunks/*.bin"))
    candidates = {Path(r.export_ref) for r in runs if "://" not in r.export_ref} | set(s.exports)
    exports = sorted(str(p) for p in candidates if p.exists())
    problems = []
    if chunks:
        problems.append(f"{len(chunks)} sealed chunk files under {s.state / 'runs'}/*/chunks (delete them)")
    if exports:
        problems.append(f"exports still on disk: {', '.join(exports)}")
    evidence = "; ".join(problems) or f"0 chunk files; none of the {len(candidates)} exports exists any more"
    return CheckResult("chunks and exports deleted", not problems, evidence)


async def run_checklist(s: DecommissionState) -> list[CheckResult]:
    runs = await s.ledger.list_runs()
    reconcile, last = await _reconcile(s, runs)
    return [
        await _open_users(s, runs),
        reconcile,
        await _sync(s),
        await _sign_ins(s),
        _vault(s),
        _jit(s, last),
        _archive(s, runs),
        _deleted(s, runs),
    ]
