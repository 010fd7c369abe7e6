"""The stage table: one row per stage of the workflow, the only place a stage is named.

From it come the Functions triggers (each `functions/<name>.py` builds its decorator arguments from its row,
and function_app.py registers one Blueprint per row), the local host's dispatch and the queues it drains,
and the tests that hold infra/main.bicep, Settings and local.settings.example.json to the same list.
A queue-triggered stage accepts only the message types of its row: anything else on its queue is poison.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from shared.config import Settings
from shared.errors import PoisonMessage
from shared.handlers.accept_export_drop import accept_export_drop
from shared.handlers.assign_groups import assign_groups
from shared.handlers.import_chunk import import_chunk
from shared.handlers.plan_export import plan_export
from shared.handlers.track_run import track_run
from shared.messages import (
    AlertRaised,
    AssignGroups,
    ChunkImported,
    ExportDropped,
    ExportPlanned,
    ImportChunk,
    LegacyChange,
    PlanExport,
    RunCompleted,
)
from shared.monitoring.stage import dispatch_alert_stage, ingest_signins_stage
from shared.sync.stage import apply_change_stage, poll_changes_stage

TriggerKind = Literal["queue", "timer", "http"]
# What a queue's Service Bus body is: one of our Envelopes' payloads, or an event Event Grid delivered
# (shared/event_grid.py reads it into the row's message type).
Delivery = Literal["envelope", "event_grid"]
HostName = Literal["run", "sync", "monitor"]
# Queue stages: (message, ports, workflow) -> follow-ups. Timer stages: (ports, workflow) -> follow-ups.
Handler = Callable[..., Awaitable[list[Any]]]

SERVICE_BUS_CONNECTION = "ServiceBusConnection"  # identity-based: ServiceBusConnection__fullyQualifiedNamespace


@dataclass(frozen=True)
class Stage:
    """One stage. `name` is its Functions function name and its trigger module, functions/<name>.py."""

    name: str
    trigger: TriggerKind
    handler: Handler | None = None  # None: the trigger module serves the stage itself (HTTP)
    accepts: tuple[type[BaseModel], ...] = ()  # queue stages: the message types that belong on the queue
    queue_setting: str | None = None  # queue stages: the app setting holding the queue name
    sessions: bool = False  # queue stages: the queue requires sessions (session id = the ordering key)
    schedule_setting: str | None = None  # timer stages: the app setting holding the NCRONTAB schedule
    route: str | None = None  # HTTP stages: the route under /api/
    # which local host drains this queue: `run`, `sync`, or `monitor` (`rehearse` runs the monitors in-process)
    local_host: HostName = "run"
    delivery: Delivery = "envelope"  # queue stages: who writes the queue's bodies (Event Grid's are not Envelopes)

    def queue_name(self, settings: Settings) -> str:
        if self.queue_setting is None:
            raise ValueError(f"stage {self.name} has no queue")
        name: str = getattr(settings, self.queue_setting)
        return name

    def admit(self, message: BaseModel) -> None:
        """Raise PoisonMessage unless the message's type belongs on this stage's queue."""
        if not isinstance(message, self.accepts):
            expected = ", ".join(t.__name__ for t in self.accepts)
            raise PoisonMessage("wrong_type", f"a {type(message).__name__} does not belong here (expects {expected})")

    def service_bus_trigger(self) -> dict[str, Any]:
        """Arguments of `Blueprint.service_bus_queue_trigger`: the queue is the app setting `%<queue_setting>%`."""
        if self.trigger != "queue" or self.queue_setting is None:
            raise ValueError(f"stage {self.name} is not queue-triggered")
        arguments: dict[str, Any] = {
            "arg_name": "msg",
            "queue_name": f"%{self.queue_setting}%",
            "connection": SERVICE_BUS_CONNECTION,
        }
        if self.sessions:
            arguments["is_sessions_enabled"] = True
        return arguments

    def timer_trigger(self) -> dict[str, Any]:
        """Arguments of `Blueprint.timer_trigger`: the schedule is the app setting `%<schedule_setting>%`."""
        if self.trigger != "timer" or self.schedule_setting is None:
            raise ValueError(f"stage {self.name} is not timer-triggered")
        return {"arg_name": "timer", "schedule": f"%{self.schedule_setting}%"}


# fmt: off
STAGES: tuple[Stage, ...] = (
    Stage("accept_export_drop", "queue", accept_export_drop, accepts=(ExportDropped,),
          queue_setting="EXPORT_DROPS_QUEUE", delivery="event_grid"),
    Stage("plan_export", "queue", plan_export, accepts=(PlanExport,), queue_setting="EXPORT_PLANS_QUEUE"),
    Stage("import_chunk", "queue", import_chunk, accepts=(ImportChunk,), queue_setting="IMPORT_CHUNKS_QUEUE"),
    Stage("assign_groups", "queue", assign_groups, accepts=(AssignGroups,), queue_setting="GROUP_ASSIGNMENTS_QUEUE"),
    Stage("track_run", "queue", track_run, accepts=(ExportPlanned, ChunkImported, RunCompleted),
          queue_setting="RUN_EVENTS_QUEUE"),
    Stage("password_submit", "http", route="password-submit"),
    Stage("poll_changes", "timer", poll_changes_stage, schedule_setting="SYNC_SCHEDULE"),
    Stage("apply_change", "queue", apply_change_stage, accepts=(LegacyChange,), queue_setting="LEGACY_CHANGES_QUEUE",
          sessions=True, local_host="sync"),
    Stage("ingest_signins", "timer", ingest_signins_stage, schedule_setting="SIGNIN_INGEST_SCHEDULE"),
    Stage("dispatch_alert", "queue", dispatch_alert_stage, accepts=(AlertRaised,), queue_setting="ALERTS_QUEUE",
          local_host="monitor"),
)
# fmt: on


def stage(name: str) -> Stage:
    """The row named `name`; a KeyError names the stages there are."""
    for row in STAGES:
        if row.name == name:
            return row
    raise KeyError(f"no stage {name!r}; stages: {', '.join(s.name for s in STAGES)}")


def queue_routes(settings: Settings, host: HostName = "run") -> Mapping[str, Stage]:
    """Queue name → the stage that consumes it: what a local host (`run`, `sync`, `monitor`) drains and routes."""
    return {row.queue_name(settings): row for row in STAGES if row.trigger == "queue" and row.local_host == host}
