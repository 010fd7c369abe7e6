"""Local files under the state directory: sealed chunk files, run artifacts, export paths, the run lock.

Writes are atomic (temp file, fsync, rename); a disk that is full or read-only raises StateUnavailable
naming the file. Chunks are sealed, read and validated off the event loop. `state_lock` lets one `run` at a
time drive a state directory (RELIABILITY R30).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from shared.adapters.local.db import unavailable
from shared.chunk_codec import chunk_name, decode_chunk, encode_chunk
from shared.errors import Permanent
from shared.ports import ChunkEntry
from shared.sealing import Sealer

LOCK_NAME = "run.lock"


class StateInUse(Permanent):
    """Another process holds the state directory's run lock. str() says which and what to do."""


@contextmanager
def state_lock(state: Path) -> Iterator[None]:
    """Hold the state directory's run lock for the block; raise StateInUse at once if another process does.

    An advisory flock: released by the kernel when the holder dies (kill -9 included), so a stale lock
    never blocks a resume. It holds between processes of one host (local disks; not across NFS clients).
    """
    path = state / LOCK_NAME
    try:
        state.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise unavailable(path, exc) or exc from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise StateInUse(
                f"{state}: another ciam-migrate run (pid {holder}) is using this state directory; "
                "wait for it to finish (`ciam-migrate status`) or use another --state"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the flock


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)
    except OSError as exc:
        error = unavailable(path, exc)
        if error is None:
            raise
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise error from None


class LocalChunkStore:
    def __init__(self, root: Path, sealer: Sealer) -> None:
        self._root = root
        self._sealer = sealer

    # Sealing, fsync, reading and validating a chunk run in a worker thread: the loop keeps sending meanwhile.
    async def put(self, run_id: str, chunk_id: str, entries: Sequence[ChunkEntry]) -> None:
        await asyncio.to_thread(self._put, chunk_name(run_id, chunk_id), entries)

    async def get(self, run_id: str, chunk_id: str) -> list[ChunkEntry]:
        return await asyncio.to_thread(self._get, chunk_name(run_id, chunk_id))

    def _put(self, name: str, entries: Sequence[ChunkEntry]) -> None:
        _atomic_write(self._root / name, encode_chunk(entries, self._sealer, name))

    def _get(self, name: str) -> list[ChunkEntry]:
        return decode_chunk((self._root / name).read_bytes(), self._sealer, name)


class LocalArtifactStore:
    def __init__(self, root: Path) -> None:
        self._root = root

    def location(self, run_id: str) -> str:
        return str(self._root / "runs" / run_id)

    async def write_text(self, run_id: str, name: str, text: str) -> None:
        _atomic_write(Path(self.location(run_id)) / name, text.encode())

    async def read_text(self, run_id: str, name: str) -> str:
        return (Path(self.location(run_id)) / name).read_text(encoding="utf-8")

    async def append_lines(self, run_id: str, name: str, lines: Sequence[str]) -> None:
        path = Path(self.location(run_id)) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as f:
            f.writelines(line + "\n" for line in lines)


class LocalExportStore:
    """Exports are local paths already."""

    @asynccontextmanager
    async def open_local(self, export_ref: str) -> AsyncIterator[Path]:
        yield Path(export_ref)
