"""LocalHost: runs the stage handlers over the SQLite queue until a run completes.

Same semantics as the Functions host: each queue is drained by the stage the stage table names for it; a
handler that raises abandons its message (redelivered at once, dead-lettered after MAX_DELIVERY_COUNT); a
poison message (unparseable, or a type that belongs on another stage's queue) is dead-lettered on first
delivery; follow-up messages are sent and the message is settled in one SQLite transaction. An unreadable
export stops the run with the reader's one-line error. Killed at any point, the next host resumes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from shared.adapters.graph.errors import GraphAccessDenied
from shared.adapters.local.db import StateUnavailable
from shared.adapters.local.queue import Received, SqliteQueue
from shared.errors import ExtensionTypeConflict, PoisonMessage
from shared.event_grid import envelope_from_event_grid
from shared.handlers.workflow import Workflow
from shared.outcomes import RunState
from shared.ports import Ports
from shared.sources import UnreadableExport
from shared.stages import Stage

logger = logging.getLogger(__name__)

IDLE_POLL_S = 0.05


class RunStopped(Exception):
    """The run cannot go on (unreadable export, state disk full or read-only). str() is the one-line reason."""


class LocalHost:
    def __init__(
        self,
        queue: SqliteQueue,
        ports: Ports,
        workflow: Workflow,
        routes: Mapping[str, Stage],
        *,
        concurrency: int = 4,
    ) -> None:
        self.queue = queue
        self.ports = ports
        self.workflow = workflow
        self.routes = routes  # queue name → its stage (shared.stages.queue_routes)
        self.queues = list(routes)
        self.concurrency = concurrency
        self.stopped: str | None = None
        self._busy = 0

    async def run_until_complete(
        self, run_id: str, on_tick: Callable[[RunState | None], None] | None = None
    ) -> RunState | None:
        recovered = self.queue.recover(self.queues)  # only ours: a sync beside this run holds its own leases
        if recovered:
            logger.info("resuming: %d messages were in flight when the last host stopped", recovered)
        done = asyncio.Event()

        async def watch() -> None:
            while not done.is_set():
                run = await self.ports.ledger.get_run(run_id)
                if on_tick:
                    on_tick(run)
                if (run is not None and run.finished_at is not None) or self.stopped:
                    done.set()
                    return
                if self.queue.next_visible_in(self.queues) is None and not self._busy:
                    done.set()  # nothing left to do, yet the run is not finished: report as stalled
                    return
                await asyncio.sleep(0.25)

        workers = [asyncio.create_task(self._worker(done)) for _ in range(self.concurrency)]
        await watch()
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        if self.stopped:
            raise RunStopped(self.stopped)
        return await self.ports.ledger.get_run(run_id)

    async def _worker(self, done: asyncio.Event) -> None:
        try:
            while not done.is_set() and not self.stopped:
                received = self.queue.receive(self.queues)
                if received is None:
                    wait = self.queue.next_visible_in(self.queues)
                    await asyncio.sleep(min(wait if wait is not None else IDLE_POLL_S, 0.5) or IDLE_POLL_S)
                    continue
                self._busy += 1
                try:
                    await self._handle(received)
                finally:
                    self._busy -= 1
        except StateUnavailable as exc:  # the queue itself can't be written: stop; the next host resumes
            self.stopped = str(exc)

    async def _handle(self, received: Received) -> None:
        stage = self.routes[received.queue]
        try:
            envelope = received.envelope
            if stage.delivery == "event_grid":  # the body is the event itself, as Event Grid delivers it
                envelope = envelope_from_event_grid(received.body.encode(), received.message_id, received.queue)
            if envelope is None:
                raise PoisonMessage("unknown_type", "the body is not a known message type")
            stage.admit(envelope.payload)
        except PoisonMessage as poison:
            self.queue.dead_letter(received, f"PoisonMessage: {poison}")
            logger.error("dead-lettered poison message %s on %s: %s", received.message_id, received.queue, poison)
            return
        if stage.handler is None:
            raise ValueError(f"stage {stage.name} has no handler")
        try:
            follow_ups = await stage.handler(envelope.payload, self.ports, self.workflow)
        except (UnreadableExport, GraphAccessDenied, ExtensionTypeConflict) as exc:  # permanent: no redelivery spin
            self.queue.dead_letter(received, f"{type(exc).__name__}: {exc}")
            self.stopped = str(exc)
            # Recorded on the run, so running the export again starts a new run instead of resuming this one.
            run = await self.ports.ledger.get_run(envelope.payload.run_id)
            if run is not None:
                await self.ports.ledger.save_run(run.model_copy(update={"error": str(exc)}))
            return
        except StateUnavailable as exc:
            # The state disk can't take the outcome: retrying here would spin (or hang). Leased, so resumable.
            self.stopped = str(exc)
            return
        except Exception as exc:
            # The exception's type and HTTP status only: its text may quote a request body.
            status = getattr(exc, "response_status_code", None)
            cause = type(exc).__name__ + (f" {status}" if status else "")
            dead = self.queue.abandon(received, cause)
            logger.warning(
                "%s failed on delivery %d (%s)%s", received.message_id, received.delivery_count, cause,
                ", dead-lettered" if dead else ", will be redelivered",
                exc_info=logger.isEnabledFor(logging.DEBUG),
            )  # fmt: skip
            return
        self.queue.complete(received, follow_ups)
