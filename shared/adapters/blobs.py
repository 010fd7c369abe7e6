"""ChunkStore, ArtifactStore and ExportStore over one Blob container (azure-storage-blob, async).

Chunks are sealed (AES-GCM, blob name as associated data) before upload: they carry passwords and
hashes. Artifacts live beside them under `runs/<run_id>/`; `append_lines` uses append blobs, one
block per call of whole lines, so concurrent writers never interleave inside a line. Exports are
stream-downloaded to a temp file that is deleted when the `open_local` block ends.

Errors: FileNotFoundError for a missing chunk or export (the same as the local stores);
`shared.sealing.SealBroken` for a chunk sealed under another key or name; ValueError for an export
reference that points outside this container, or a line too long for one append block.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import ContentSettings
from azure.storage.blob.aio import BlobClient, ContainerClient

from shared.chunk_codec import chunk_name, decode_chunk, encode_chunk
from shared.ports import ChunkEntry
from shared.sealing import Sealer

# Append Block accepts at most 4 MiB per call on every service version Azurite and Azure share.
MAX_APPEND_BLOCK = 4 * 1024 * 1024

_CONTENT_TYPES = {".json": "application/json", ".jsonl": "application/x-ndjson", ".csv": "text/csv"}


def container_client(
    container: str, *, connection_string: str | None = None, account_url: str | None = None, credential: Any = None
) -> ContainerClient:
    """A ContainerClient from a connection string (Azurite, keys) or an account URL + credential (identity)."""
    if connection_string:
        return ContainerClient.from_connection_string(connection_string, container)
    if not account_url:
        raise ValueError("set STORAGE_CONNECTION_STRING or STORAGE_ACCOUNT_URL")
    if credential is None:
        from azure.identity.aio import DefaultAzureCredential

        credential = DefaultAzureCredential()
    return ContainerClient(account_url, container, credential=credential)


class BlobChunkStore:
    """`ChunkStore`: `runs/<run_id>/chunks/<chunk_id>.bin`, sealed. A re-put replaces the chunk."""

    def __init__(self, container: ContainerClient, sealer: Sealer) -> None:
        self._container = container
        self._sealer = sealer

    async def put(self, run_id: str, chunk_id: str, entries: Sequence[ChunkEntry]) -> None:
        name = chunk_name(run_id, chunk_id)
        data = encode_chunk(entries, self._sealer, name)
        await self._container.upload_blob(name, data, overwrite=True)

    async def get(self, run_id: str, chunk_id: str) -> list[ChunkEntry]:
        name = chunk_name(run_id, chunk_id)
        try:
            downloader = await self._container.download_blob(name)
        except ResourceNotFoundError:
            raise FileNotFoundError(f"chunk {chunk_id} of run {run_id} is missing from the container") from None
        return decode_chunk(await downloader.readall(), self._sealer, name)


class BlobArtifactStore:
    """`ArtifactStore`: report.json, rejects.jsonl, failures.jsonl, id-map.csv under `runs/<run_id>/`."""

    def __init__(self, container: ContainerClient) -> None:
        self._container = container

    async def write_text(self, run_id: str, name: str, text: str) -> None:
        await self._blob(run_id, name).upload_blob(
            text.encode(), overwrite=True, content_settings=_content_settings(name)
        )

    async def read_text(self, run_id: str, name: str) -> str:
        try:
            downloader = await self._blob(run_id, name).download_blob()
        except ResourceNotFoundError:
            raise FileNotFoundError(f"runs/{run_id}/{name}") from None
        return (await downloader.readall()).decode("utf-8")

    async def append_lines(self, run_id: str, name: str, lines: Sequence[str]) -> None:
        if not lines:
            return
        blob = self._blob(run_id, name)
        for block in _blocks(lines):
            try:
                await blob.append_block(block)
            except ResourceNotFoundError:
                await _create_append_blob_if_missing(blob, name)
                await blob.append_block(block)

    def location(self, run_id: str) -> str:
        return f"{self._container.url}/runs/{run_id}/"

    def _blob(self, run_id: str, name: str) -> BlobClient:
        return self._container.get_blob_client(f"runs/{run_id}/{name}")


async def _create_append_blob_if_missing(blob: BlobClient, name: str) -> None:
    # IfMissing: a second writer racing us must not truncate what the first one appended.
    with suppress(ResourceExistsError):
        await blob.create_append_blob(
            content_settings=_content_settings(name), match_condition=MatchConditions.IfMissing
        )


def _blocks(lines: Sequence[str]) -> list[bytes]:
    """Whole lines packed into blocks of at most MAX_APPEND_BLOCK bytes."""
    blocks: list[bytes] = []
    current = bytearray()
    for line in lines:
        encoded = (line.rstrip("\n") + "\n").encode()
        if len(encoded) > MAX_APPEND_BLOCK:
            raise ValueError(f"an artifact line of {len(encoded)} bytes exceeds one append block")
        if len(current) + len(encoded) > MAX_APPEND_BLOCK:
            blocks.append(bytes(current))
            current.clear()
        current += encoded
    if current:
        blocks.append(bytes(current))
    return blocks


def _content_settings(name: str) -> ContentSettings:
    return ContentSettings(content_type=_CONTENT_TYPES.get(PurePosixPath(name).suffix, "text/plain"))


class BlobExportStore:
    """`ExportStore`: an export blob (a blob name, or its URL in this container) as a temp local file."""

    def __init__(self, container: ContainerClient) -> None:
        self._container = container

    @asynccontextmanager
    async def open_local(self, export_ref: str) -> AsyncIterator[Path]:
        name = self.blob_name(export_ref)
        with tempfile.TemporaryDirectory(prefix="ciam-export-") as tmp:
            # Keep the blob's file name: readers pick the format and gzip from the suffix.
            path = Path(tmp) / (PurePosixPath(name).name or "export")
            await self._download(name, path)
            yield path

    def blob_name(self, export_ref: str) -> str:
        """Event Grid hands us the blob URL; operators pass the name. Both resolve to a name here."""
        if "://" not in export_ref:
            return export_ref.lstrip("/")
        container_url = self._container.url.rstrip("/")
        ref = urlsplit(export_ref)
        own = urlsplit(container_url)
        prefix = own.path.rstrip("/") + "/"
        if (ref.scheme, ref.netloc) != (own.scheme, own.netloc) or not ref.path.startswith(prefix):
            raise ValueError(f"export {export_ref!r} is not in container {container_url}")
        return unquote(ref.path[len(prefix) :])

    async def _download(self, name: str, path: Path) -> None:
        try:
            downloader = await self._container.download_blob(name)
        except ResourceNotFoundError:
            raise FileNotFoundError(f"export blob {name!r} not found in {self._container.url}") from None
        # Streamed chunk by chunk (the SDK's 4 MiB default): a 5 GB export never sits in memory.
        with await asyncio.to_thread(path.open, "wb") as out:
            async for piece in downloader.chunks():
                await asyncio.to_thread(out.write, piece)
