"""The accept_export_drop function as Azure calls it: Event Grid's body in, a PlanExport out; poison parked.

The runtime is the local one (SQLite queue, file stores): the body on the queue is the event itself, as Event
Grid delivers it to Service Bus, and the local host drains the same body through the same decoder.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.local_host import LocalHost
from shared.bootstrap import AzureRuntime, LocalHostParts, install, local_parts
from shared.config import Settings
from shared.handlers.workflow import Workflow
from shared.messages import Envelope, PlanExport
from shared.stages import queue_routes
from tests.functions.triggers import function_named, parked_reason, sb_message
from tests.unit.test_event_grid_drops import BLOB_DELETED_SAMPLE, EVENT_GRID_SAMPLE, as_drop


@pytest.fixture
def parts(tmp_path: Path) -> Iterator[LocalHostParts]:
    settings = Settings(STATE_DIR=str(tmp_path))
    parts = local_parts(settings)
    install(azure=AzureRuntime(settings=settings, ports=parts.ports, workflow=Workflow.from_settings(settings, 1)))
    yield parts
    install()


async def test_the_function_turns_microsofts_event_into_a_plan_export_on_export_plans(parts: LocalHostParts):
    try:
        await function_named("accept_export_drop")(sb_message(as_drop(EVENT_GRID_SAMPLE), "831e1650-001e"))
        received = parts.queue.receive(["export-plans"])
        assert received is not None and isinstance(plan := received.envelope.payload, PlanExport)
        assert (plan.source, plan.export_ref) == ("auth0", "exports/auth0/2026 Q1/users.ndjson")
        assert parts.queue.counts() == {"leased": 1}, "anything but the one PlanExport was sent"
    finally:
        await parts.close()


async def test_a_blob_deleted_event_is_parked_without_planning(parts: LocalHostParts, tmp_path: Path):
    try:
        await function_named("accept_export_drop")(sb_message(BLOB_DELETED_SAMPLE.encode(), "del-1"))
        assert parts.queue.counts() == {}
        reason = parked_reason(tmp_path, "export-drops", "del-1")
        assert reason.startswith("not_blob_created: the event is Microsoft.Storage.BlobDeleted")
        assert "file-to-delete" not in reason
    finally:
        await parts.close()


async def test_a_plan_export_sent_to_export_drops_is_parked_not_planned(parts: LocalHostParts, tmp_path: Path):
    """Only Event Grid writes export-drops: one of our payloads there is not a BlobCreated event."""
    plan = PlanExport(run_id="r", source="jsonl", export_ref="exports/jsonl/users.jsonl")
    try:
        await function_named("accept_export_drop")(sb_message(plan.model_dump_json().encode(), "r:plan:export"))
        assert parked_reason(tmp_path, "export-drops", "r:plan:export").startswith("not_blob_created")
        assert await parts.ledger.get_run("r") is None and parts.queue.counts() == {}
    finally:
        await parts.close()


async def test_the_local_host_delivers_the_same_event_body_and_drops_a_redelivery(tmp_path: Path):
    settings = Settings(STATE_DIR=str(tmp_path))
    parts = local_parts(settings)
    try:
        # Given Event Grid's body put on the local export-drops queue twice under its event id (a redelivery),
        # and a BlobDeleted event beside it
        for _ in range(2):
            parts.queue.deliver("export-drops", "evt-1", as_drop(EVENT_GRID_SAMPLE).decode())
        parts.queue.deliver("export-drops", "evt-2", BLOB_DELETED_SAMPLE)
        routes = {q: row for q, row in queue_routes(settings).items() if q == "export-drops"}
        host = LocalHost(parts.queue, parts.ports, Workflow.from_settings(settings, 1), routes)
        # When the host drains export-drops
        await host.run_until_complete("no-such-run")
        # Then one PlanExport waits for the plan stage and the BlobDeleted is dead-lettered with its reason
        ready = parts.queue.receive(["export-plans"])
        assert ready is not None and isinstance(plan := ready.envelope.payload, PlanExport)
        assert plan.export_ref == "exports/auth0/2026 Q1/users.ndjson"
        assert parts.queue.receive(["export-plans"]) is None
        [(message_id, queue, reason)] = parts.queue.dead_letters()
        assert (message_id, queue) == ("evt-2", "export-drops")
        assert reason.startswith("PoisonMessage: not_blob_created")
    finally:
        await parts.close()


async def test_a_plan_export_left_on_export_drops_by_an_older_version_is_planned_on_resume(tmp_path: Path):
    # Given a state directory where an older version queued a run's PlanExport on export-drops, then stopped
    settings = Settings(STATE_DIR=str(tmp_path))
    old = local_parts(settings)
    plan = PlanExport(run_id="before-upgrade", source="jsonl", export_ref="users.jsonl")
    await old.queue.send_all([Envelope(id="before-upgrade:plan:export", queue="export-drops", payload=plan)])
    await old.close()
    # When this version opens the state again
    parts = local_parts(settings)
    try:
        # Then the PlanExport waits on export-plans for the plan stage, not as poison on export-drops
        received = parts.queue.receive(["export-plans"])
        assert received is not None and received.envelope is not None and received.envelope.payload == plan
        assert parts.queue.receive(["export-drops"]) is None
    finally:
        await parts.close()
