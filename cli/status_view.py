"""How `ciam-migrate status` words a run: its state and cause, counts, report path, next command.

Plain sentences only — no Python reprs, no `None`: a figure not known yet is said to be not known yet.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from cli.runs import run_word
from shared.outcomes import RunState


@dataclass(frozen=True)
class RunView:
    run_id: str
    state: str  # finished, in progress, abandoned, failed: <cause>
    progress: str
    counts: str
    report: str | None  # the report.json path, once written
    next_step: str

    def lines(self) -> list[str]:
        out = [f"{self.run_id}: {self.state}", f"  {self.progress}", f"  {self.counts}"]
        out.append(f"  report: {self.report}" if self.report else "  report: written when the run finishes")
        out.append(f"  next: {self.next_step}")
        return out

    def as_dict(self) -> dict[str, str | None]:
        return {"state": self.state, "report": self.report, "next": self.next_step}


def view_run(run: RunState, dead_reasons: list[str], state_dir: Path) -> RunView:
    state = run_word(run)
    if state == "in progress" and dead_reasons:  # a dead-lettered run is not in progress
        state = f"failed: {dead_reasons[0]}"
    run_dir = state_dir / "runs" / run.run_id
    report = run_dir / "report.json"
    return RunView(
        run_id=run.run_id,
        state=state,
        progress=progress_line(run),
        counts=counts_line(run),
        report=str(report) if report.exists() else None,
        next_step=_next_step(run, state, run_dir, state_dir),
    )


def progress_line(run: RunState) -> str:
    source = f"{run.source} export {run.export_ref}" + ("" if run.wave is None else f", wave {run.wave}")
    if run.chunks is None:
        return f"{source}; planning, records not counted yet"
    return f"{source}; {run.chunks_reported} of {run.chunks} chunks reported"


def counts_line(run: RunState) -> str:
    written = f"created {run.created:,}, already present {run.already_present:,}, failed {run.failed:,}"
    if run.total is None:
        return f"{written} (records not counted yet)"
    others = f", {run.other_wave:,} in other waves" if run.wave is not None else ""
    return f"{run.total:,} records: {written}, rejected before any write {run.rejected or 0:,}{others}"


def _next_step(run: RunState, state: str, run_dir: Path, state_dir: Path) -> str:
    state_arg = shlex.quote(str(state_dir))
    again = f"ciam-migrate run {shlex.quote(run.export_ref)} --source {run.source} --state {state_arg}"
    if run.wave is not None:
        again += f" --wave {run.wave}"
    if state == "rolled back":
        return f"nothing: the users it created were deleted; `{again}` creates them again"
    if state == "abandoned":
        return "nothing: the run was abandoned; the users it created stay in the tenant"
    if run.finished_at is not None:
        if run.failed:
            return (
                f"read {run_dir / 'failures.jsonl'} for each failed user's cause, fix it, then `{again}` "
                "(a new run: users already created count as already present)"
            )
        return f"nothing to import: hand {run_dir / 'id-map.csv'} (legacyId → objectId) to the application teams"
    if run.error:  # not open any more: running the export again starts a new run
        return (
            f"fix the cause above (`ciam-migrate doctor` checks the tenant and credentials), then `{again}`: "
            "a new run, in which users already created count as already present"
        )
    if state.startswith("failed"):
        return (
            f"fix the cause above (`ciam-migrate doctor` checks the tenant and credentials), then "
            f"`{again} --abandon {run.run_id}` to start over: users already created count as already present"
        )
    return f"`{again}` resumes the run if no process is driving it"


def queue_line(counts: dict[str, int]) -> str:
    if not counts:
        return "queue: empty"
    return "queue: " + ", ".join(f"{n:,} {state}" for state, n in sorted(counts.items()))
