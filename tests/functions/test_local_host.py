"""The local host dispatches by the stage table: each queue goes to its stage, a foreign type is poison."""

from __future__ import annotations

from pathlib import Path

from cli.local_host import LocalHost
from shared.bootstrap import local_parts
from shared.config import Settings
from shared.handlers.workflow import Workflow
from shared.messages import Envelope, PlanExport
from shared.stages import queue_routes
from tests.conftest import SAMPLE


async def test_a_plan_export_on_the_import_queue_is_dead_lettered_unplanned(tmp_path: Path):
    # Given a PlanExport sent, by mistake, to the import-chunks queue
    settings = Settings(STATE_DIR=str(tmp_path))
    parts = local_parts(settings)
    plan = PlanExport(run_id="misrouted", source="jsonl", export_ref=str(SAMPLE))
    await parts.queue.send_all([Envelope(id="misrouted:plan:export", queue="import-chunks", payload=plan)])
    host = LocalHost(parts.queue, parts.ports, Workflow.from_settings(settings, 1), queue_routes(settings))
    try:
        # When the host drains its queues
        final = await host.run_until_complete("misrouted")
        # Then the message is dead-lettered as poison on first delivery, and nothing was planned
        assert final is None
        [(message_id, queue, reason)] = parts.queue.dead_letters()
        assert (message_id, queue) == ("misrouted:plan:export", "import-chunks")
        assert reason.startswith("PoisonMessage: wrong_type: a PlanExport does not belong here")
        assert parts.queue.counts() == {"dead": 1}
    finally:
        await parts.close()
