"""The Azure path of the import's sync baseline: the Functions runtime the composition root builds (ledger, chunks
and the sync store on Azurite, Graph the tenant emulator) records the baseline of every created user in SYNC_TABLE,
the sync runtime reads that same store, and the first snapshot diff then reads and patches only the changed users —
counted by the emulator (GET /_emulator/stats).
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from azure.data.tables.aio import TableClient
from azure.storage.blob.aio import ContainerClient
from pydantic import SecretStr

from shared.bootstrap import AzureRuntime, _build_azure_runtime, install, sync_runtime
from shared.handlers.apply_change import apply_change
from shared.handlers.import_chunk import import_chunk
from shared.mapping import extension_properties_for
from shared.messages import ChunkImported, ImportChunk, LegacyChange
from shared.outcomes import RunState
from shared.ports import ChunkEntry
from shared.records import LegacyUser
from shared.sync.snapshot import SnapshotDiff
from shared.sync.table_store import TableSyncStore
from tests.conftest import emulator_stats, settings_for
from tests.integration.conftest import azurite_connection_string  # noqa: F401 - the session's Azurite
from tests.sync.conftest import MAPPING, differences, person, write_jsonl

USERS, CHUNK, K = 60, 20, 4
RUN = "jsonl-azure-baseline"


@pytest.fixture
async def azure(start_emulator, tmp_path: Path, azurite_connection_string: str) -> AsyncIterator[dict[str, Any]]:  # noqa: F811
    emulator = start_emulator(time_scale=50)
    names = {k: f"t{uuid.uuid4().hex}" for k in ("LEDGER_TABLE", "SYNC_TABLE", "QUOTA_TABLE")}
    container_name = f"c{uuid.uuid4().hex}"
    settings = settings_for(
        emulator, tmp_path, STORAGE_CONNECTION_STRING=SecretStr(azurite_connection_string),
        BLOB_CONTAINER=container_name, SYNC_SOURCE="jsonl",
        ServiceBusConnection={"fullyQualifiedNamespace": "ns.servicebus.windows.net"},
        CHUNK_SEALING_KEY=SecretStr(base64.b64encode(secrets.token_bytes(32)).decode()), **names,
    )  # fmt: skip
    tables = [TableClient.from_connection_string(azurite_connection_string, n) for n in names.values()]
    for table in tables:
        await table.create_table()
    container = ContainerClient.from_connection_string(azurite_connection_string, container_name)
    await container.create_container()
    runtime = await _build_azure_runtime(settings)
    install(azure=runtime)
    try:
        yield {"emulator": emulator, "runtime": runtime, "tmp": tmp_path}
    finally:
        install()
        await runtime.ports.directory.close()
        if runtime.sync_store is not None:
            await runtime.sync_store.close()
        for table in tables:
            await table.delete_table()
            await table.close()
        await container.delete_container()
        await container.close()


async def import_in_azure(runtime: AzureRuntime, records: list[dict[str, Any]]) -> None:
    """The import stage as the Functions host runs it: a planned run, its chunks, each chunk until reported."""
    ports, now = runtime.ports, datetime.now(UTC)
    await ports.ledger.save_run(RunState(run_id=RUN, source="jsonl", export_ref="export.jsonl", started_at=now,
                                         planned_at=now, mapping=MAPPING))  # fmt: skip
    await ports.directory.ensure_extension_properties(extension_properties_for({}, MAPPING))
    for start in range(0, len(records), CHUNK):
        chunk_id = f"c{start // CHUNK:04d}"
        users = [LegacyUser.model_validate(r) for r in records[start : start + CHUNK]]
        await ports.chunks.put(RUN, chunk_id, [ChunkEntry(line=start + i + 1, user=u) for i, u in enumerate(users)])
        command = ImportChunk(run_id=RUN, source="jsonl", chunk_id=chunk_id)
        for _ in range(runtime.workflow.max_attempts):  # bounded: continuations while Graph throttles
            (out,) = await import_chunk(command, ports, runtime.workflow)
            if isinstance(out.payload, ChunkImported):
                assert out.payload.created == len(users), out.payload
                break
            assert isinstance(out.payload, ImportChunk)
            command = out.payload


def graph_counts(handle: Any) -> tuple[int, int]:
    apps = emulator_stats(handle)["apps"].values()
    return sum(a["requests"] for a in apps), sum(a["writes"] for a in apps)


async def test_azure_import_baselines_land_in_the_sync_table_and_the_first_diff_touches_only_changes(azure) -> None:
    emulator, runtime, tmp = azure["emulator"], azure["runtime"], azure["tmp"]
    records = [person(i) for i in range(USERS)]
    await import_in_azure(runtime, records)

    sync = (await sync_runtime()).sync
    assert isinstance(sync.store, TableSyncStore) and sync.store is runtime.sync_store  # one store, one table
    assert len([fp async for fp in sync.store.fingerprints("jsonl")]) == USERS

    nightly = [person(i, surname=f"Changed{i}") if i % (USERS // K) == 0 else person(i) for i in range(USERS)]
    export = write_jsonl(tmp / "nightly.jsonl", nightly)
    sealer = (await sync_runtime()).sealer
    diff = SnapshotDiff(export, "jsonl", sync.store, sealer, sync.digester, sync.mapping, sync.ports.ledger,
                        source="jsonl")  # fmt: skip
    page = await diff.read(None)
    assert sorted(h.legacy_id for h in page.hints) == [f"u{i:05d}" for i in range(0, USERS, USERS // K)]

    requests0, writes0 = graph_counts(emulator)
    for hint in page.hints:
        change = LegacyChange(run_id="sync-jsonl", source="jsonl", legacy_id=hint.legacy_id,
                              change_id=hint.change_id, op=hint.op, seq=hint.seq)  # fmt: skip
        assert await apply_change(change, sync, runtime.workflow) == []
    requests1, writes1 = graph_counts(emulator)
    assert ((requests1 - requests0) - (writes1 - writes0), writes1 - writes0) == (K, K)
    assert differences(emulator.base_url, {r["legacyId"]: r for r in nightly}) == []
    assert (await sync.store.counters("jsonl")).get("updated") == K
