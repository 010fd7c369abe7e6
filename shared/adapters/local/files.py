"""Local files under the state directory: sealed chunk files, run artifacts, and export paths."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from shared.chunk_codec import chunk_name, decode_chunk, encode_chunk
from shared.ports import ChunkEntry
from shared.sealing import Sealer


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


class LocalChunkStore:
    def __init__(self, root: Path, sealer: Sealer) -> None:
        self._root = root
        self._sealer = sealer

    async def put(self, run_id: str, chunk_id: str, entries: Sequence[ChunkEntry]) -> None:
        name = chunk_name(run_id, chunk_id)
        _atomic_write(self._root / name, encode_chunk(entries, self._sealer, name))

    async def get(self, run_id: str, chunk_id: str) -> list[ChunkEntry]:
        name = chunk_name(run_id, chunk_id)
        return decode_chunk((self._root / name).read_bytes(), self._sealer, name)


class LocalArtifactStore:
    def __init__(self, root: Path) -> None:
        self._root = root

    def location(self, run_id: str) -> str:
        return str(self._root / "runs" / run_id)

    async def write_text(self, run_id: str, name: str, text: str) -> None:
        _atomic_write(Path(self.location(run_id)) / name, text.encode())

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
