"""Which run an export belongs to, and what to do with another run left unfinished in the same state.

The same export (source, path, size, mtime: its fingerprint, part of the run id) resumes its unfinished
run; after a finished run, running it again starts a new run (whose users then count as already
present). One state directory drains one queue, so a run left unfinished by a *different* export
(changed, cut, or another file) would be finished silently by the next run: that is refused
(`OtherRunUnfinished`, exit 2) until the operator says `--resume RUN` (finish that run) or
`--abandon RUN` (cancel its open chunks; it is shown as abandoned and never finishes).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from shared.errors import Permanent
from shared.outcomes import RunState
from shared.sources.b2c import graph_url_of


class OtherRunUnfinished(Permanent):
    """Another run in this state directory is unfinished. str() is the one-line error naming both choices."""


class UnknownRun(Permanent, LookupError):
    """--resume/--abandon named a run this state directory does not hold (or cannot take that choice)."""


@dataclass(frozen=True)
class RunChoice:
    run_id: str
    resuming: bool
    export_ref: str | None = None  # set when resuming another export's run: plan from what it planned


def export_fingerprint(source: str, path: Path) -> str:
    graph_url = graph_url_of(path) if source == "b2c" else None
    if graph_url is not None:  # a live tenant: the same URL is the same export
        key = f"{source}|{graph_url}"
    elif path.is_dir():  # a folder export (keycloak users-N files): a file added, removed or changed is another export
        members = sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in path.iterdir() if p.is_file())
        key = f"{source}|{path.resolve()}|{members}"
    else:
        stat = path.stat()
        key = f"{source}|{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    return hashlib.sha256(key.encode()).hexdigest()[:10]


def is_open(run: RunState) -> bool:
    """Unfinished and still meant to finish: not failed, not abandoned."""
    return run.finished_at is None and run.error is None and run.abandoned_at is None


def choose_run(
    source: str, path: Path, runs: list[RunState], *, resume: str | None = None, wave: int | None = None
) -> RunChoice:
    """The run to drive for this export (and wave: `…-wN-NN`). Raises OtherRunUnfinished or UnknownRun."""
    if resume is not None:
        run = _named(resume, runs)
        if not is_open(run):
            raise UnknownRun(f"run {resume} is not unfinished (it is {run_word(run)}); nothing to resume")
        return RunChoice(run.run_id, True, run.export_ref)
    prefix = f"{source}-{export_fingerprint(source, path)}-" + ("" if wave is None else f"w{wave}-")
    mine = sorted((r for r in runs if r.run_id.startswith(prefix) and r.wave == wave), key=lambda r: r.run_id)
    current = mine[-1] if mine and is_open(mine[-1]) else None
    others = [r for r in runs if is_open(r) and (current is None or r.run_id != current.run_id)]
    if others:
        other = others[0]
        raise OtherRunUnfinished(
            f"run {other.run_id} (export {other.export_ref}) is unfinished in this state directory and was "
            f"planned from {_other_plan(other, wave)}; finish it with --resume {other.run_id}, or cancel its open "
            f"chunks with --abandon {other.run_id}, then run again"
        )
    if current is not None:
        return RunChoice(current.run_id, True)
    return RunChoice(f"{prefix}{len(mine) + 1:02d}", False)


def _other_plan(run: RunState, wave: int | None) -> str:
    if run.wave == wave:
        return "a different export"
    return "the whole export" if run.wave is None else f"a different export or wave (wave {run.wave})"


def abandonable(run_id: str, runs: list[RunState]) -> RunState:
    run = _named(run_id, runs)
    if run.finished_at is not None:
        raise UnknownRun(f"run {run_id} is finished; only an unfinished run can be abandoned")
    return run


def run_word(run: RunState) -> str:
    """How `status` names a run's state."""
    if run.rolled_back_at is not None:
        return "rolled back"
    if run.abandoned_at is not None:
        return "abandoned"
    if run.finished_at is not None:
        return "finished"
    if run.error:
        return "failed: " + run.error
    return "in progress"


def _named(run_id: str, runs: list[RunState]) -> RunState:
    for run in runs:
        if run.run_id == run_id:
            return run
    known = ", ".join(r.run_id for r in runs) or "none"
    raise UnknownRun(f"no run {run_id} in this state directory (runs: {known})")
