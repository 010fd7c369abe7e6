"""BlobChunkStore, BlobArtifactStore, BlobExportStore against Azurite."""

from __future__ import annotations

import asyncio
import gzip
import os
import secrets

import pytest
from azure.storage.blob.aio import ContainerClient
from pydantic import SecretStr

from shared.adapters.blobs import MAX_APPEND_BLOCK, BlobArtifactStore, BlobChunkStore, BlobExportStore
from shared.chunk_codec import chunk_name
from shared.ports import ChunkEntry
from shared.records import LegacyUser, Password, PasswordHash
from shared.sealing import SealBroken, Sealer

pytestmark = pytest.mark.azurite

CANARY_PASSWORD = "Canary-Pa55word-7f3a9c"
CANARY_HASH = "canaryhash-0b9e51d2"
CANARY_EMAIL = "canary.user@example.com"


def sample_entries() -> list[ChunkEntry]:
    return [
        ChunkEntry(
            line=1,
            user=LegacyUser(
                legacy_id="u-1", email=CANARY_EMAIL, password=Password(plaintext=SecretStr(CANARY_PASSWORD))
            ),
        ),
        ChunkEntry(
            line=2,
            user=LegacyUser(
                legacy_id="u-2/ü",
                display_name="Zoë",
                password=Password(hash=PasswordHash(algorithm="bcrypt", value=SecretStr(CANARY_HASH))),
            ),
        ),
    ]


async def raw_blob(container: ContainerClient, name: str) -> bytes:
    return await (await container.download_blob(name)).readall()


async def test_chunk_round_trip_keeps_every_entry_and_secret(container: ContainerClient) -> None:
    store = BlobChunkStore(container, Sealer(secrets.token_bytes(32)))
    entries = sample_entries()

    await store.put("run-1", "c00001", entries)
    back = await store.get("run-1", "c00001")

    assert back == entries
    assert back[0].user.password is not None and back[0].user.password.plaintext is not None
    assert back[0].user.password.plaintext.get_secret_value() == CANARY_PASSWORD


async def test_chunk_blob_at_rest_holds_no_plaintext_secret(container: ContainerClient) -> None:
    store = BlobChunkStore(container, Sealer(secrets.token_bytes(32)))
    await store.put("run-1", "c00001", sample_entries())

    raw = await raw_blob(container, chunk_name("run-1", "c00001"))

    for canary in (CANARY_PASSWORD, CANARY_HASH, CANARY_EMAIL):
        assert canary.encode() not in raw, f"canary {canary!r} found in the stored blob"
        assert canary.encode("utf-16-le") not in raw
    with pytest.raises(OSError):
        gzip.decompress(raw)  # sealed, not merely compressed


async def test_chunk_opened_with_another_key_fails(container: ContainerClient) -> None:
    await BlobChunkStore(container, Sealer(secrets.token_bytes(32))).put("run-1", "c00001", sample_entries())

    with pytest.raises(SealBroken) as caught:
        await BlobChunkStore(container, Sealer(secrets.token_bytes(32))).get("run-1", "c00001")
    assert CANARY_PASSWORD not in str(caught.value)


async def test_chunk_copied_under_another_name_does_not_open(container: ContainerClient) -> None:
    store = BlobChunkStore(container, Sealer(secrets.token_bytes(32)))
    await store.put("run-1", "c00001", sample_entries())
    await container.upload_blob(chunk_name("run-1", "c00002"), await raw_blob(container, chunk_name("run-1", "c00001")))

    with pytest.raises(SealBroken):
        await store.get("run-1", "c00002")


async def test_missing_chunk_is_file_not_found(container: ContainerClient) -> None:
    with pytest.raises(FileNotFoundError, match="c00009"):
        await BlobChunkStore(container, Sealer(secrets.token_bytes(32))).get("run-1", "c00009")


async def test_artifacts_write_and_append_whole_lines(container: ContainerClient) -> None:
    store = BlobArtifactStore(container)

    await store.write_text("run-1", "report.json", '{"counts": {"total": 2}}')
    await store.write_text("run-1", "report.json", '{"counts": {"total": 3}}')
    await store.append_lines("run-1", "rejects.jsonl", ['{"line": 1}', '{"line": 2}'])
    await store.append_lines("run-1", "rejects.jsonl", [])
    await store.append_lines("run-1", "rejects.jsonl", ['{"line": 3}\n'])

    assert await raw_blob(container, "runs/run-1/report.json") == b'{"counts": {"total": 3}}'
    assert await raw_blob(container, "runs/run-1/rejects.jsonl") == b'{"line": 1}\n{"line": 2}\n{"line": 3}\n'
    props = await container.get_blob_client("runs/run-1/rejects.jsonl").get_blob_properties()
    assert props.blob_type == "AppendBlob"
    assert props.content_settings.content_type == "application/x-ndjson"
    assert store.location("run-1") == f"{container.url}/runs/run-1/"


async def test_concurrent_first_appends_lose_no_line(container: ContainerClient) -> None:
    store = BlobArtifactStore(container)

    await asyncio.gather(
        *(store.append_lines("run-1", "failures.jsonl", [f"w{w}-{i}" for i in range(5)]) for w in range(12))
    )

    lines = (await raw_blob(container, "runs/run-1/failures.jsonl")).decode().splitlines()
    assert sorted(lines) == sorted(f"w{w}-{i}" for w in range(12) for i in range(5))


async def test_appends_larger_than_one_block_are_split_on_line_boundaries(container: ContainerClient) -> None:
    store = BlobArtifactStore(container)
    line = "x" * 1023
    lines = [f"{n:07d}{line}" for n in range(5000)]  # ~5.2 MB > one 4 MiB block
    assert sum(len(x) + 1 for x in lines) > MAX_APPEND_BLOCK

    await store.append_lines("run-1", "id-map.csv", lines)

    assert (await raw_blob(container, "runs/run-1/id-map.csv")).decode().splitlines() == lines


async def test_export_is_streamed_to_a_temp_file_and_deleted_after(
    azurite_connection_string: str, container: ContainerClient
) -> None:
    payload = os.urandom(300_000)
    await container.upload_blob("exports/2024/users.jsonl.gz", payload)
    # Small transfer sizes force the download through several ranged GETs.
    small = ContainerClient.from_connection_string(
        azurite_connection_string, container.container_name, max_single_get_size=64 * 1024, max_chunk_get_size=64 * 1024
    )
    async with small:
        store = BlobExportStore(small)
        async with store.open_local("exports/2024/users.jsonl.gz") as path:
            assert path.name == "users.jsonl.gz"
            assert path.read_bytes() == payload
        assert not path.exists()
        assert not path.parent.exists()

        async with store.open_local(f"{small.url}/exports/2024/users.jsonl.gz") as by_url:
            assert by_url.read_bytes() == payload


async def test_export_errors_name_the_export(container: ContainerClient) -> None:
    store = BlobExportStore(container)

    with pytest.raises(FileNotFoundError, match=r"nope\.jsonl"):
        async with store.open_local("exports/nope.jsonl"):
            pass
    with pytest.raises(ValueError, match="not in container"):
        async with store.open_local("https://elsewhere.blob.core.windows.net/migration/users.jsonl"):
            pass
