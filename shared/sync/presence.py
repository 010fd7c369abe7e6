"""Whether a sync is running beside an import, so the import leaves the sync its share of the write quota.

Locally, `sync` holds a shared flock on STATE_DIR/sync.running for as long as it runs (`holding_presence`); the
kernel drops it when the process ends, kill -9 included, so a dead sync is never "running". `sync_running(state)`
probes it with a non-blocking exclusive lock and lets go at once. In Azure, poll_changes runs in the same Functions
app whenever SYNC_FEED is set, so the import leaves the share whenever it is. SYNC_ENABLED=true forces it (an import
with another state directory, or on another machine, beside a sync).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from shared.config import Settings

PRESENCE_FILE = "sync.running"


@contextmanager
def holding_presence(state: Path) -> Iterator[None]:
    """Mark a sync as running on this state directory for the block (several syncs may hold it at once)."""
    state.mkdir(parents=True, exist_ok=True)
    fd = os.open(state / PRESENCE_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # closing releases the flock


def sync_running(state: Path) -> bool:
    path = state / PRESENCE_FILE
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def presence_probe(settings: Settings, *, azure: bool = False) -> Callable[[], bool]:
    """What an import asks to know whether a sync is running beside it (see the module docstring)."""
    if settings.SYNC_ENABLED or (azure and settings.SYNC_FEED):
        return lambda: True
    state = Path(settings.STATE_DIR)
    return lambda: sync_running(state)
