"""SyncHost: the local host of coexistence — poll the feed on a timer, apply changes from the session queue.

Same semantics as the Functions host: a handler that raises abandons its message (redelivered, dead-lettered
after MAX_DELIVERY_COUNT); a poison message is dead-lettered at once; follow-ups are sent and the message
settled in one SQLite transaction. Sessions keep one user's changes in order and on one worker; the session
lock is renewed while a change is being applied. Killed at any point, the next host resumes: leases of the
legacy-changes queue are released, the poll goes on from the stored cursor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from shared.adapters.local.queue import Received, SqliteQueue
from shared.handlers.apply_change import apply_change
from shared.handlers.poll_changes import PollResult, poll_changes
from shared.handlers.workflow import Workflow
from shared.messages import LegacyChange
from shared.sync.feed import ChangeFeed
from shared.sync.ports import SyncPorts
from shared.sync.sqlite_store import poll_holder

logger = logging.getLogger(__name__)

IDLE_POLL_S = 0.05


class SyncHost:
    def __init__(
        self, queue: SqliteQueue, sync: SyncPorts, workflow: Workflow, source: str, feed: ChangeFeed, *,
        snapshot: ChangeFeed | None = None, concurrency: int = 4,
    ) -> None:  # fmt: skip
        self.queue = queue
        self.sync = sync
        self.workflow = workflow
        self.source = source
        self.feed = feed
        self.snapshot = snapshot
        self.concurrency = concurrency
        self.queues = [sync.policy.legacy_changes_queue]
        self.holder = poll_holder()
        self.applied = 0
        self._busy = 0

    async def poll(self) -> PollResult:
        return await poll_changes(self.source, self.feed, self.sync, holder=self.holder, snapshot=self.snapshot)

    def pending(self) -> bool:
        return self.queue.next_visible_in(self.queues) is not None or self._busy > 0

    async def run(
        self, *, every: float | None, once: bool, on_tick: Callable[[PollResult | None], None] | None = None,
        stop: asyncio.Event | None = None,
    ) -> list[PollResult]:  # fmt: skip
        """Poll (once, or every `every` seconds) and apply until idle (once) or until `stop` is set."""
        recovered = self.queue.recover(self.queues)
        if recovered:
            logger.info("resuming: %d changes were being applied when the last sync stopped", recovered)
        stop = stop or asyncio.Event()
        results: list[PollResult] = []
        workers = [asyncio.create_task(self._worker(stop)) for _ in range(self.concurrency)]
        try:
            # Changes left in flight by a previous host apply first: a snapshot diff must see their outcome
            # (a create that was under way when the host died is otherwise missed as "vanished").
            await self._drained(stop)
            while not stop.is_set():
                result = await self.poll()
                results.append(result)
                if on_tick:
                    on_tick(result)
                if once or every is None:
                    while self.pending() and not stop.is_set():
                        await asyncio.sleep(0.1)
                        if on_tick:
                            on_tick(None)
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=every)
        finally:
            stop.set()
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
        return results

    async def _drained(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if not self.pending():
                return
            await asyncio.sleep(0.1)

    async def _worker(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
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

    async def _handle(self, received: Received) -> None:
        envelope = received.envelope
        if envelope is None or not isinstance(envelope.payload, LegacyChange):
            self.queue.dead_letter(received, "PoisonMessage: not a LegacyChange")
            logger.error("dead-lettered poison message %s on %s", received.message_id, received.queue)
            return
        renewer = asyncio.create_task(self._keep_lock(received))
        try:
            follow_ups = await apply_change(envelope.payload, self.sync, self.workflow)
        except Exception as exc:
            status = getattr(exc, "response_status_code", None)
            cause = type(exc).__name__ + (f" {status}" if status else "")
            dead = self.queue.abandon(received, cause)
            logger.warning("%s failed on delivery %d (%s)%s", received.message_id, received.delivery_count, cause,
                           ", dead-lettered" if dead else ", will be redelivered")  # fmt: skip
            return
        finally:
            renewer.cancel()
        if self.queue.complete(received, follow_ups):
            self.applied += 1
        else:
            logger.warning(
                "%s: session lock lost while applying; the change will be applied again", received.message_id
            )

    async def _keep_lock(self, received: Received) -> None:
        while True:
            await asyncio.sleep(self.queue.session_lock_s / 3)
            if not self.queue.renew(received):
                return
