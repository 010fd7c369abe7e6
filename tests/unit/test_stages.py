"""The stage table is the one list of stages: Settings, infra/main.bicep and the rows must agree.

Bicep cannot be compiled here, so its queue resources and the app settings naming them are read from the
file's text: every queue-triggered stage has exactly one queue (named by its setting's default, with
requiresSession when the stage is session-enabled) and one app setting `<QUEUE_SETTING>` pointing at it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.config import Settings
from shared.errors import PoisonMessage
from shared.messages import AlertRaised, ChunkImported, ImportChunk, LegacyChange, PlanExport
from shared.stages import STAGES, queue_routes, stage

BICEP = Path(__file__).resolve().parents[2] / "infra" / "main.bicep"
QUEUE_RESOURCE = re.compile(
    r"^resource (\w+) 'Microsoft\.ServiceBus/namespaces/queues@[^']+' = \{\n(.*?)^\}", re.MULTILINE | re.DOTALL
)


def bicep_queues(text: str) -> set[tuple[str, str, bool]]:
    """(app setting, queue name, requiresSession) for every Service Bus queue the template declares."""
    names_block = re.search(r"^var queueNames = \{\n(.*?)^\}", text, re.MULTILINE | re.DOTALL)
    assert names_block, "var queueNames not found"
    names = dict(re.findall(r"^\s*(\w+): '([^']+)'", names_block.group(1), re.MULTILINE))
    resources: dict[str, tuple[str, bool]] = {}
    for symbol, body in QUEUE_RESOURCE.findall(text):
        key = re.search(r"name: queueNames\.(\w+)", body)
        assert key, f"queue resource {symbol} is not named from queueNames"
        resources[symbol] = (names[key.group(1)], "requiresSession: true" in body)
    settings = dict(re.findall(r"\{ name: '(\w+)', value: (\w+)\.name \}", text))
    queue_settings = {setting: symbol for setting, symbol in settings.items() if symbol in resources}
    assert sorted(queue_settings.values()) == sorted(resources), "a queue without exactly one app setting"
    return {(setting, *resources[symbol]) for setting, symbol in queue_settings.items()}


def table_queues() -> set[tuple[str, str, bool]]:
    rows = [row for row in STAGES if row.trigger == "queue"]
    return {(r.queue_setting or "", Settings.model_fields[r.queue_setting or ""].default, r.sessions) for r in rows}


def test_bicep_declares_exactly_the_stage_tables_queues():
    assert bicep_queues(BICEP.read_text()) == table_queues()


def test_the_bicep_reader_sees_sessions_and_settings():
    """The reader itself: a session queue and its setting are found, so the test above can fail."""
    text = """var queueNames = {
  changes: 'legacy-changes'
}
resource legacyChanges 'Microsoft.ServiceBus/namespaces/queues@2022-10-01-preview' = {
  parent: serviceBus
  name: queueNames.changes
  properties: union(commonQueueProperties, { requiresSession: true })
}
        { name: 'LEGACY_CHANGES_QUEUE', value: legacyChanges.name }
"""
    assert bicep_queues(text) == {("LEGACY_CHANGES_QUEUE", "legacy-changes", True)}


def test_every_setting_a_row_names_is_a_setting():
    for row in STAGES:
        for setting in (row.queue_setting, row.schedule_setting):
            if setting is not None:
                assert setting in Settings.model_fields, f"{row.name}: {setting} is not a Settings field"
        if row.trigger == "queue":
            assert row.queue_setting and row.handler and row.accepts, row.name
        if row.trigger == "timer":
            assert row.schedule_setting and row.handler, row.name
        if row.trigger == "http":
            assert row.route, row.name


def test_stage_names_and_queues_are_unique():
    assert len({row.name for row in STAGES}) == len(STAGES)
    queue_rows = [row for row in STAGES if row.trigger == "queue"]
    hosts = {row.local_host for row in queue_rows}
    assert sum(len(queue_routes(Settings(), host)) for host in hosts) == len(queue_rows)
    assert {row.name for row in queue_routes(Settings(), "sync").values()} == {"apply_change"}
    assert {row.name for row in queue_routes(Settings(), "monitor").values()} == {"dispatch_alert"}
    assert "alerts" not in queue_routes(Settings()), "the run host would drain the alerts queue"


def test_every_timer_schedule_is_an_app_setting_in_bicep():
    """The Functions host resolves `%SETTING%` from app settings only (pydantic's default is not seen there)."""
    app_settings = set(re.findall(r"\{ name: '(\w+)', value: ", BICEP.read_text()))
    timers = {row.schedule_setting for row in STAGES if row.trigger == "timer"}
    assert {"SYNC_SCHEDULE", "SIGNIN_INGEST_SCHEDULE"} <= timers
    assert timers - app_settings == set()


def test_queue_routes_follow_the_settings():
    routes = queue_routes(Settings(IMPORT_CHUNKS_QUEUE="chunks-blue"))
    assert routes["chunks-blue"].name == "import_chunk"
    assert "import-chunks" not in routes


def test_a_stage_admits_its_own_types_only():
    stage("track_run").admit(ChunkImported(run_id="r", chunk_id="c"))
    stage("import_chunk").admit(ImportChunk(run_id="r", source="jsonl", chunk_id="c"))
    with pytest.raises(PoisonMessage) as caught:
        stage("import_chunk").admit(PlanExport(run_id="r", source="jsonl", export_ref="secret-path.jsonl"))
    assert caught.value.code == "wrong_type"
    assert "secret-path" not in str(caught.value)


def alert() -> AlertRaised:
    return AlertRaised(key="jit_errors", window="w1", rule="jit_errors", severity=1, summary="JIT errors > 2 %",
                       value=0.05, threshold=0.02, raised_at=datetime(2026, 1, 1, tzinfo=UTC))  # fmt: skip


def test_dispatch_alert_admits_an_alert_and_nothing_else():
    stage("dispatch_alert").admit(alert())
    for foreign in (PlanExport(run_id="r", source="jsonl", export_ref="e"),
                    LegacyChange(run_id="sync-jsonl", source="jsonl", legacy_id="1", change_id="c")):  # fmt: skip
        with pytest.raises(PoisonMessage, match="does not belong here"):
            stage("dispatch_alert").admit(foreign)
    for other in ("plan_export", "import_chunk", "track_run", "apply_change"):
        with pytest.raises(PoisonMessage, match="AlertRaised does not belong here"):
            stage(other).admit(alert())


def test_an_unknown_stage_names_the_known_ones():
    with pytest.raises(KeyError, match="import_chunk"):
        stage("poll_changez")
