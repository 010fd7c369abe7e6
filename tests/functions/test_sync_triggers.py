"""The sync's Azure triggers as the Functions host calls them: the `poll_changes` timer and the session-enabled
`apply_change` Service Bus trigger, over the sync's Azure runtime (built by shared.bootstrap) with its store in Table
Storage and the changes.jsonl drop as a blob, both on Azurite; Graph is the tenant emulator.

Given a bulk-imported tenant, when the timer polls a drop blob and each LegacyChange it sent is delivered to
apply_change (twice: a redelivery), then the tenant equals the legacy side (0 differences), the cursor and the
counters are in the Table, a second tick sends nothing, a tick while another poller holds the lease does nothing
(R13), and a message of another type on legacy-changes is parked on first delivery.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from azure.data.tables.aio import TableClient
from azure.functions.timer import TimerRequest
from azure.storage.blob.aio import ContainerClient
from pydantic import SecretStr

from cli.run_cmd import execute_run
from shared.adapters.blobs import BlobExportStore
from shared.bootstrap import AzureRuntime, install, local_parts, sync_runtime
from shared.handlers.workflow import Workflow
from shared.messages import PlanExport
from shared.sync.table_store import TableSyncStore
from tests.conftest import settings_for
from tests.functions.triggers import function_named, parked_reason, sb_message
from tests.integration.conftest import azurite_connection_string  # noqa: F401 - the session's Azurite
from tests.sync.changes import LegacyWorld
from tests.sync.conftest import differences

USERS, CHANGES = 60, 40
DROP_BLOB = "sync/changes.jsonl"


@pytest.fixture
async def sync_azure(start_emulator, tmp_path: Path, azurite_connection_string: str) -> AsyncIterator[dict[str, Any]]:  # noqa: F811
    emulator = start_emulator(time_scale=50)
    table_name, container_name = f"t{uuid.uuid4().hex}", f"c{uuid.uuid4().hex}"
    settings = settings_for(
        emulator, tmp_path, STORAGE_CONNECTION_STRING=SecretStr(azurite_connection_string), SYNC_TABLE=table_name,
        SYNC_SOURCE="jsonl", SYNC_FEED=DROP_BLOB, CHUNK_SEALING_KEY=SecretStr(base64.b64encode(b"k" * 32).decode()),
    )  # fmt: skip
    world = LegacyWorld(USERS, seed=3)
    export = tmp_path / "export.jsonl"
    export.write_text("".join(json.dumps(r) + "\n" for r in world.users.values() if r))
    await execute_run(export, "jsonl", settings, show_progress=False)  # the bulk import the sync goes on from

    container = ContainerClient.from_connection_string(azurite_connection_string, container_name)
    await container.create_container()
    table = TableClient.from_connection_string(azurite_connection_string, table_name)
    await table.create_table()
    parts = local_parts(settings)
    parts.ports.exports = BlobExportStore(container)  # SYNC_FEED names a blob in the migration container
    runtime = AzureRuntime(settings=settings, ports=parts.ports, workflow=Workflow.from_settings(settings, apps=1))
    install(azure=runtime)
    sync = await sync_runtime()  # built by the composition root, as the Functions worker builds it
    try:
        yield {"emulator": emulator, "parts": parts, "world": world, "container": container,
               "store": TableSyncStore(table), "state": tmp_path}  # fmt: skip
    finally:
        install()
        await sync.sync.store.close()  # type: ignore[attr-defined]
        await parts.close()
        await container.delete_container()
        await container.close()
        await table.delete_table()
        await table.close()


async def deliver_all(parts: Any, queue: str, *, twice: bool) -> int:
    """Deliver every message on `queue` to apply_change as Service Bus would (optionally redelivered)."""
    trigger = function_named("apply_change")
    for delivered in range(10 * CHANGES):
        received = parts.queue.receive([queue])
        if received is None:
            return delivered
        for _ in range(2 if twice else 1):
            await trigger(sb_message(received.body.encode(), received.message_id))
        parts.queue.complete(received)
    raise AssertionError("legacy-changes never drained")


async def test_the_timer_polls_the_drop_blob_and_apply_change_brings_the_tenant_in_step(sync_azure) -> None:
    parts, world, container = sync_azure["parts"], sync_azure["world"], sync_azure["container"]
    store: TableSyncStore = sync_azure["store"]
    queue = "legacy-changes"
    lines = [world.step() for _ in range(CHANGES)]
    lines.reverse()  # out of seq order: the highest seq per user wins
    await container.upload_blob(DROP_BLOB, "".join(json.dumps(x) + "\n" for x in lines).encode(), overwrite=True)

    await function_named("poll_changes")(TimerRequest(past_due=False))
    delivered = await deliver_all(parts, queue, twice=True)
    assert 0 < delivered <= CHANGES

    problems = differences(sync_azure["emulator"].base_url, world.users)
    assert problems == [], f"{len(problems)} differences, e.g. {problems[:5]}"
    cursor = await store.get_cursor("jsonl")
    assert cursor is not None and cursor.cursor  # stored in the Table, past every line
    counters = await store.counters("jsonl")
    assert counters.get("failed", 0) == 0 and counters.get("out_of_order_applies", 0) == 0, counters
    applied = sum(v for k, v in counters.items() if k not in ("failed", "out_of_order_applies"))
    assert applied >= delivered  # each change counted (a redelivery is counted as unchanged or skipped)

    await function_named("poll_changes")(TimerRequest(past_due=True))  # a late tick: nothing new to send
    assert parts.queue.counts().get("ready", 0) == 0


async def test_a_tick_while_another_poller_holds_the_lease_sends_nothing(sync_azure) -> None:
    parts, world, container = sync_azure["parts"], sync_azure["world"], sync_azure["container"]
    store: TableSyncStore = sync_azure["store"]
    await container.upload_blob(DROP_BLOB, (json.dumps(world.step()) + "\n").encode(), overwrite=True)
    now = datetime.now(UTC)
    assert await store.begin_poll("jsonl", "another-instance", now, now + timedelta(minutes=5))
    await function_named("poll_changes")(TimerRequest(past_due=False))
    assert parts.queue.counts().get("ready", 0) == 0, "a second poller ran beside the lease holder"
    assert await store.get_cursor("jsonl") is None or not (await store.get_cursor("jsonl")).cursor  # type: ignore[union-attr]
    await store.end_poll("jsonl", "another-instance")
    await function_named("poll_changes")(TimerRequest(past_due=False))
    assert parts.queue.counts().get("ready", 0) == 1  # the next tick covers the gap


async def test_another_type_on_legacy_changes_is_parked_on_first_delivery(sync_azure) -> None:
    parts, state = sync_azure["parts"], sync_azure["state"]
    plan = PlanExport(run_id="misrouted", source="jsonl", export_ref="x.jsonl", chunk_size=10)
    await function_named("apply_change")(sb_message(plan.model_dump_json().encode(), "misrouted:plan:export"))
    parked = parked_reason(state, "legacy-changes", "misrouted:plan:export")
    assert parked.startswith("wrong_type: a PlanExport does not belong here")
    assert await parts.ledger.get_run("misrouted") is None
    assert parts.queue.counts().get("ready", 0) == 0
