"""Which run an export belongs to: the same export (path, size, mtime) resumes its unfinished run;
after a finished run, running it again starts a new run (whose users then count as already present)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from shared.outcomes import RunState


def export_fingerprint(source: str, path: Path) -> str:
    stat = path.stat()
    key = f"{source}|{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    return hashlib.sha256(key.encode()).hexdigest()[:10]


def choose_run_id(source: str, path: Path, runs: list[RunState]) -> tuple[str, bool]:
    """(run_id, resuming)."""
    prefix = f"{source}-{export_fingerprint(source, path)}-"
    mine = sorted((r for r in runs if r.run_id.startswith(prefix)), key=lambda r: r.run_id)
    if mine and mine[-1].finished_at is None and mine[-1].error is None:
        return mine[-1].run_id, True
    return f"{prefix}{len(mine) + 1:02d}", False
