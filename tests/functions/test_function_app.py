"""The Functions app as Azure would load it: one function per stage-table row, bindings match parameters.

Azure indexes zero functions when a binding's name differs from its parameter, while local tests
pass, so that is checked for every function; each function's trigger is checked against its row.
Triggers are then called with constructed Service Bus messages over local ports (SQLite ledger/queue,
files) and the tenant emulator.
"""

from __future__ import annotations

import inspect
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from azure.functions.timer import TimerRequest

from shared.bootstrap import AzureRuntime, install, local_parts
from shared.handlers.workflow import Workflow
from shared.messages import AlertRaised, ImportChunk, PlanExport
from shared.monitoring.metrics import SIGNIN_OUTCOMES, code_label
from shared.monitoring.sqlite_store import SqliteMonitorStore
from shared.stages import STAGES, queue_routes, stage
from tests.conftest import SAMPLE, emulator_stats, settings_for
from tests.functions.triggers import FUNCTIONS, function_named, parked_reason, sb_message


def all_functions() -> list:
    return FUNCTIONS


def test_one_function_per_stage_row():
    names = [f.get_function_name() for f in all_functions()]
    assert sorted(names) == sorted(row.name for row in STAGES)


TRIGGER_TYPES = {"queue": "serviceBusTrigger", "timer": "timerTrigger", "http": "httpTrigger"}


def test_every_trigger_is_the_one_its_row_describes():
    for function in all_functions():
        row = stage(function.get_function_name())
        trigger = function.get_trigger().get_dict_repr()
        assert trigger["type"] == TRIGGER_TYPES[row.trigger], row.name
        if row.trigger == "queue":
            assert trigger["queueName"] == f"%{row.queue_setting}%", row.name
            assert bool(trigger.get("isSessionsEnabled")) == row.sessions, row.name
            assert row.handler is not None and row.accepts, row.name
        elif row.trigger == "timer":
            assert trigger["schedule"] == f"%{row.schedule_setting}%", row.name
        else:
            assert trigger["route"] == row.route, row.name


def test_every_binding_name_matches_a_parameter_of_its_function():
    for function in all_functions():
        params = set(inspect.signature(function.get_user_function()).parameters)
        for binding in function.get_bindings():
            if binding.name == "$return":  # an HTTP response returned by the function, not a parameter
                continue
            assert binding.name in params, f"{function.get_function_name()}: binding {binding.name!r} not in {params}"
        trigger = function.get_trigger()
        assert trigger is not None and trigger.name in params


def test_queue_names_and_connections_are_app_settings():
    for function in all_functions():
        trigger = function.get_trigger().get_dict_repr()
        if trigger["type"] == "serviceBusTrigger":
            assert trigger["queueName"].startswith("%") and trigger["queueName"].endswith("%"), trigger
            assert trigger["connection"] == "ServiceBusConnection"


@pytest.fixture
def runtime(start_emulator, tmp_path: Path):
    emulator = start_emulator(time_scale=20)
    settings = settings_for(emulator, tmp_path)
    parts = local_parts(settings)
    rt = AzureRuntime(settings=settings, ports=parts.ports, workflow=Workflow.from_settings(settings, apps=1))
    monitor = SqliteMonitorStore(tmp_path / "monitor.db")  # the worker's shared monitor store (Table in Azure)
    install(azure=rt, monitor=monitor)
    yield rt, parts, emulator
    install()
    monitor.close()


async def test_triggers_carry_a_run_from_export_to_report(runtime, tmp_path: Path):
    rt, parts, emulator = runtime
    plan = PlanExport(run_id="fn-run", source="jsonl", export_ref=str(SAMPLE), chunk_size=100)
    await function_named("plan_export")(sb_message(plan.model_dump_json().encode(), "fn-run:plan:export"))
    # Drain what the triggers sent, delivering each message to its trigger as Service Bus would.
    triggers = {queue: function_named(row.name) for queue, row in queue_routes(rt.settings).items()}
    for _ in range(100):
        received = parts.queue.receive(list(triggers))
        if received is None:
            break
        await triggers[received.queue](sb_message(received.body.encode(), received.message_id))
        parts.queue.complete(received)
    run = await parts.ledger.get_run("fn-run")
    assert run is not None and run.finished_at is not None
    report = json.loads((tmp_path / "runs" / "fn-run" / "report.json").read_text())
    c = report["counts"]
    assert c["total"] == c["created"] + c["already_present"] + c["rejected"] + c["failed"] == 250
    assert emulator_stats(emulator)["users"] == c["created"] == 244
    await parts.close()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "bad_json"),
        (b'{"type": "Nope", "run_id": "x"}', "unknown_type"),
        (b'{"type": "ImportChunk", "run_id": "r", "source": "jsonl", "chunk_id": "c", "x": 1}', "invalid_payload"),
        (b'{"pad": "' + b"x" * (70 * 1024) + b'"}', "oversized"),
    ],
)
async def test_poison_message_is_parked_on_first_delivery_without_its_content(runtime, tmp_path: Path, body, code):
    """R7: the invocation returns normally (no redelivery) and the parked reason holds no message content."""
    rt, parts, _ = runtime
    await function_named("import_chunk")(sb_message(body, f"poison-{code}"))
    parked = parked_reason(tmp_path, "import-chunks", f"poison-{code}")
    assert parked.startswith(code)
    assert "xxxx" not in parked and "not json" not in parked
    assert any(name == "poison_messages" and ("code", code) in attrs for name, attrs in rt.ports.telemetry.counts)
    assert parts.queue.counts() == {}, "a poison message produced follow-ups"
    await parts.close()


async def test_a_message_on_another_stages_queue_is_parked_not_handled(runtime, tmp_path: Path):
    """A PlanExport delivered to import-chunks is poison: parked on first delivery, never planned."""
    _rt, parts, _ = runtime
    plan = PlanExport(run_id="wrong-queue", source="jsonl", export_ref=str(SAMPLE), chunk_size=100)
    await function_named("import_chunk")(sb_message(plan.model_dump_json().encode(), "wrong-queue:plan:export"))
    parked = parked_reason(tmp_path, "import-chunks", "wrong-queue:plan:export")
    assert parked.startswith("wrong_type: a PlanExport does not belong here")
    assert await parts.ledger.get_run("wrong-queue") is None, "the plan stage ran on the import queue"
    assert parts.queue.counts() == {}
    await parts.close()


async def test_each_stage_admits_its_own_message_type(runtime, tmp_path: Path):
    """The right type on the right queue is handled: an ImportChunk for an unplanned run reaches the handler."""
    _rt, parts, _ = runtime
    chunk = ImportChunk(run_id="unplanned", source="jsonl", chunk_id="c0")
    with pytest.raises(LookupError, match="unplanned"):
        await function_named("import_chunk")(sb_message(chunk.model_dump_json().encode(), "unplanned:import:c0"))
    assert not (tmp_path / "runs" / "_poison").exists()
    await parts.close()


def an_alert(window: str = "w1") -> AlertRaised:
    return AlertRaised(key="jit_errors", window=window, rule="jit_errors", severity=1, summary="JIT errors > 2 %",
                       value=0.05, threshold=0.02, raised_at=datetime(2026, 1, 1, tzinfo=UTC))  # fmt: skip


async def test_dispatch_alert_records_an_alert_once_across_redelivery(runtime, tmp_path: Path):
    """An AlertRaised on the alerts queue reaches dispatch_alert (no webhook set: recorded, for watch/report)."""
    _rt, parts, _ = runtime
    body = an_alert().model_dump_json().encode()
    for _ in range(2):  # a redelivery of the same alert
        await function_named("dispatch_alert")(sb_message(body, "monitoring:alert:jit_errors:w1"))
    store = SqliteMonitorStore(tmp_path / "monitor.db")
    try:
        assert [(a.key, a.window) for a in store.alerts()] == [("jit_errors", "w1")]
    finally:
        store.close()
    assert not (tmp_path / "runs" / "_poison").exists()
    assert parts.queue.counts() == {}
    await parts.close()


async def test_dispatch_alert_parks_any_other_type_and_others_park_an_alert(runtime, tmp_path: Path):
    _rt, parts, _ = runtime
    plan = PlanExport(run_id="misrouted", source="jsonl", export_ref=str(SAMPLE), chunk_size=100)
    await function_named("dispatch_alert")(sb_message(plan.model_dump_json().encode(), "misrouted:plan:export"))
    parked = parked_reason(tmp_path, "alerts", "misrouted:plan:export")
    assert parked.startswith("wrong_type: a PlanExport does not belong here (expects AlertRaised)")
    assert await parts.ledger.get_run("misrouted") is None
    await function_named("import_chunk")(sb_message(an_alert().model_dump_json().encode(), "monitoring:alert:x"))
    parked = parked_reason(tmp_path, "import-chunks", "monitoring:alert:x")
    assert parked.startswith("wrong_type: a AlertRaised does not belong here")
    store = SqliteMonitorStore(tmp_path / "monitor.db")
    try:
        assert store.alerts() == [], "a misrouted message reached the monitor store"
    finally:
        store.close()
    assert parts.queue.counts() == {}
    await parts.close()


async def test_ingest_signins_timer_counts_each_arrived_sign_in_once(runtime, tmp_path: Path):
    """The timer reads the emulator's auditLogs/signIns through the worker's monitor store; a second run adds none."""
    _rt, parts, emulator = runtime
    now = datetime.now(UTC)
    created = (now - timedelta(minutes=1)).isoformat(timespec="milliseconds")
    for n, code in enumerate((0, 50126)):
        record = {"id": f"signin-{n}", "createdDateTime": created, "userId": f"u{n}", "appId": "app-a",
                  "status": {"errorCode": code}}  # fmt: skip
        emulator.server.tenant.arrivals.add(record, 0)
    for _ in range(2):
        await function_named("ingest_signins")(TimerRequest(past_due=False))
    store = SqliteMonitorStore(tmp_path / "monitor.db")
    try:
        points = await store.points(SIGNIN_OUTCOMES, now - timedelta(hours=1), now + timedelta(hours=1))
        assert sorted(p.dimensions["code"] for p in points) == sorted(code_label(c) for c in (0, 50126))
        assert await store.get_cursor("ingest_signins") is not None
    finally:
        store.close()
    assert parts.queue.counts() == {}, "ingestion sends no messages"
    await parts.close()


async def test_ingest_signins_raises_an_alert_that_dispatch_alert_records_once(runtime, tmp_path: Path):
    """A lockout spike in the sign-in log: the timer evaluates the rules and queues AlertRaised on the alerts
    queue; delivered (twice) to dispatch_alert, it is one notification."""
    rt, parts, emulator = runtime
    created = (datetime.now(UTC) - timedelta(minutes=1)).isoformat(timespec="milliseconds")
    for n in range(51):  # lockout_spike: more than 50 locked sign-ins in 15 minutes
        record = {"id": f"locked-{n}", "createdDateTime": created, "userId": f"u{n}", "appId": "app-a",
                  "status": {"errorCode": 50053}}  # fmt: skip
        emulator.server.tenant.arrivals.add(record, 0)
    await function_named("ingest_signins")(TimerRequest(past_due=False))
    queued = parts.queue.receive([rt.settings.ALERTS_QUEUE])
    assert queued is not None, "ingest_signins queued no alert"
    alert = AlertRaised.model_validate_json(queued.body)
    assert (alert.rule, queued.message_id) == ("lockout_spike", f"monitoring:alert:lockout_spike:{alert.window}")
    for _ in range(2):
        await function_named("dispatch_alert")(sb_message(queued.body.encode(), queued.message_id))
    parts.queue.complete(queued)
    store = SqliteMonitorStore(tmp_path / "monitor.db")
    try:
        assert [a.rule for a in store.alerts()] == ["lockout_spike"]
    finally:
        store.close()
    await parts.close()
