"""SqliteQueue: the local host's durable queue, with Service Bus semantics where they matter.

* duplicate detection: a message id that was ever sent is dropped (INSERT OR IGNORE);
* peek-lock: `receive` leases a message; `complete` settles it; `abandon` makes it visible again
  at once (as Service Bus does for an uncaught exception); delivery count grows per lease;
* dead-lettering after `max_delivery_count` deliveries, or at once for a poison message;
* scheduled delivery: a message is invisible until its `not_before`;
* sessions (as Service Bus sessions): messages with a session id are delivered in send order within their
  session (FIFO), and only while nobody else holds the session's lock: one holder at a time. The lock lasts
  `session_lock_s` (renewed by `renew`); when its holder dies, it expires and the session's leased message
  becomes deliverable again (the holder's late `complete` then settles nothing: lock lost, R12).
A crashed host's leases are released by `recover()` when the next host starts; `recover(queues)` only touches
those queues, so two hosts on one state dir (an import and a sync) don't release each other's leases.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from shared.adapters.local.db import connect
from shared.messages import Envelope

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY,
    queue TEXT NOT NULL,
    session_id TEXT,
    body TEXT NOT NULL,
    seq INTEGER NOT NULL,
    visible_at REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'ready',
    delivery_count INTEGER NOT NULL DEFAULT 0,
    lock_token TEXT,
    dead_reason TEXT
);
CREATE INDEX IF NOT EXISTS messages_ready ON messages(state, queue, visible_at, seq);
CREATE INDEX IF NOT EXISTS messages_session ON messages(queue, session_id, seq);
CREATE TABLE IF NOT EXISTS session_locks (
    queue TEXT NOT NULL,
    session_id TEXT NOT NULL,
    holder TEXT NOT NULL,
    locked_until REAL NOT NULL,
    PRIMARY KEY (queue, session_id)
);
"""
DEFAULT_SESSION_LOCK_S = 30.0


@dataclass(frozen=True)
class Received:
    envelope: Envelope | None  # None when the body could not be parsed (poison)
    message_id: str
    queue: str
    body: str
    delivery_count: int
    lock_token: str
    session_id: str | None = None


class SqliteQueue:
    def __init__(
        self,
        path: Path,
        *,
        max_delivery_count: int = 10,
        clock: Callable[[], float] = time.time,
        read_only: bool = False,
        session_lock_s: float = DEFAULT_SESSION_LOCK_S,
        holder: str | None = None,
    ) -> None:
        self._conn = connect(path, read_only=read_only)
        if not read_only:
            self._conn.executescript(_SCHEMA)
        self.max_delivery_count = max_delivery_count
        self._clock = clock
        self.session_lock_s = session_lock_s
        self.holder = holder or uuid.uuid4().hex  # one holder per queue object (per host process)

    def close(self) -> None:
        self._conn.close()

    async def send_all(self, envelopes: Sequence[Envelope]) -> None:
        self.send_now(envelopes)

    def send_now(self, envelopes: Sequence[Envelope], *, conn: sqlite3.Connection | None = None) -> None:
        now = self._clock()
        rows = [
            (
                e.id,
                e.queue,
                e.session_id,
                e.payload.model_dump_json(),
                time.monotonic_ns(),
                e.not_before.timestamp() if e.not_before else now,
            )
            for e in envelopes
        ]
        (conn or self._conn).executemany(
            "INSERT OR IGNORE INTO messages(id, queue, session_id, body, seq, visible_at) VALUES (?,?,?,?,?,?)", rows
        )

    def deliver(self, queue: str, message_id: str, body: str) -> None:
        """Put a body someone else wrote on a queue, as that service would (Event Grid's events on export-drops).

        Duplicate detection by message id, as for send_all: Event Grid keeps the id across its redeliveries.
        """
        self._conn.execute(
            "INSERT OR IGNORE INTO messages(id, queue, session_id, body, seq, visible_at) VALUES (?,?,?,?,?,?)",
            (message_id, queue, None, body, time.monotonic_ns(), self._clock()),
        )

    def move_type(self, message_type: str, from_queue: str, to_queue: str) -> int:
        """Move unsettled messages of one type to another queue (a stage's queue was renamed). Returns how many."""
        with self._transaction():
            cur = self._conn.execute(
                "UPDATE messages SET queue=? WHERE queue=? AND state IN ('ready','leased') "
                "AND json_extract(body, '$.type') = ?",
                (to_queue, from_queue, message_type),
            )
        return cur.rowcount

    def recover(self, queues: Sequence[str] | None = None) -> int:
        """Release leases held by a host that died (of these queues; all when None): visible again now."""
        where, args = _in_queues(queues)
        with self._transaction():
            cur = self._conn.execute(
                f"UPDATE messages SET state='ready', lock_token=NULL, visible_at=? WHERE state='leased'{where}",
                (self._clock(), *args),
            )
            self._conn.execute(f"DELETE FROM session_locks WHERE 1=1{where}", args)
        return cur.rowcount

    def receive(self, queues: Sequence[str]) -> Received | None:
        """Lease the next visible message of these queues (oldest first), or None.

        A session's messages come one at a time, oldest first, and only to the session lock's holder.
        """
        marks = ",".join("?" * len(queues))
        token = uuid.uuid4().hex
        now = self._clock()
        with self._transaction():
            self._expire_session_locks(now)
            row = self._conn.execute(
                f"SELECT id, queue, body, delivery_count, session_id FROM messages m WHERE state='ready' "
                f"AND queue IN ({marks}) AND visible_at <= ? AND (session_id IS NULL OR ("
                "NOT EXISTS (SELECT 1 FROM messages p WHERE p.queue=m.queue AND p.session_id=m.session_id "
                "AND p.seq < m.seq AND (p.state='leased' OR (p.state='ready' AND p.visible_at <= ?))) "
                "AND NOT EXISTS (SELECT 1 FROM session_locks l WHERE l.queue=m.queue AND l.session_id=m.session_id "
                "AND l.holder != ?))) ORDER BY visible_at, seq LIMIT 1",
                (*queues, now, now, self.holder),
            ).fetchone()
            if row is None:
                return None
            message_id, queue, body, count, session_id = row
            self._conn.execute(
                "UPDATE messages SET state='leased', lock_token=?, delivery_count=? WHERE id=?",
                (token, count + 1, message_id),
            )
            if session_id is not None:
                self._conn.execute(
                    "INSERT OR REPLACE INTO session_locks(queue, session_id, holder, locked_until) VALUES (?,?,?,?)",
                    (queue, session_id, self.holder, now + self.session_lock_s),
                )
        return Received(
            _parse(message_id, queue, body, session_id), message_id, queue, body, count + 1, token, session_id
        )

    def renew(self, received: Received) -> bool:
        """Extend the session lock of a message being handled; False when the lock was lost."""
        if received.session_id is None:
            return True
        cur = self._conn.execute(
            "UPDATE session_locks SET locked_until=? WHERE queue=? AND session_id=? AND holder=?",
            (self._clock() + self.session_lock_s, received.queue, received.session_id, self.holder),
        )
        return cur.rowcount == 1

    def complete(self, received: Received, follow_ups: Sequence[Envelope] = ()) -> bool:
        """Settle a message and send what follows from it, atomically. False (nothing sent) if the lock was lost."""
        with self._transaction():
            cur = self._conn.execute(
                "UPDATE messages SET state='done', lock_token=NULL WHERE id=? AND lock_token=?",
                (received.message_id, received.lock_token),
            )
            if cur.rowcount != 1:
                return False
            self.send_now(follow_ups, conn=self._conn)
            self._release_session(received)
        return True

    def abandon(self, received: Received, reason: str) -> bool:
        """Make the message visible again at once; dead-letter it past max deliveries. True if dead-lettered."""
        if received.delivery_count >= self.max_delivery_count:
            self.dead_letter(received, f"MaxDeliveryCountExceeded: {reason}")
            return True
        with self._transaction():
            cur = self._conn.execute(
                "UPDATE messages SET state='ready', lock_token=NULL, visible_at=? WHERE id=? AND lock_token=?",
                (self._clock(), received.message_id, received.lock_token),
            )
            if cur.rowcount == 1:
                self._release_session(received)
        return False

    def dead_letter(self, received: Received, reason: str) -> None:
        with self._transaction():
            self._conn.execute(
                "UPDATE messages SET state='dead', lock_token=NULL, dead_reason=? WHERE id=?",
                (reason[:500], received.message_id),
            )
            self._release_session(received)

    def _release_session(self, received: Received) -> None:
        if received.session_id is not None:
            self._conn.execute(
                "DELETE FROM session_locks WHERE queue=? AND session_id=? AND holder=?",
                (received.queue, received.session_id, self.holder),
            )

    def _expire_session_locks(self, now: float) -> None:
        """A lock whose holder stopped renewing it (died, hung) ends; its leased message is deliverable again."""
        expired = self._conn.execute(
            "SELECT queue, session_id FROM session_locks WHERE locked_until <= ?", (now,)
        ).fetchall()
        for queue, session_id in expired:
            self._conn.execute(
                "UPDATE messages SET state='ready', lock_token=NULL WHERE queue=? AND session_id=? AND state='leased'",
                (queue, session_id),
            )
            self._conn.execute("DELETE FROM session_locks WHERE queue=? AND session_id=?", (queue, session_id))

    def cancel_run(self, run_id: str) -> int:
        """Settle every unsettled message of one run unprocessed (`run --abandon`). Returns how many."""
        cur = self._conn.execute(
            "UPDATE messages SET state='cancelled', lock_token=NULL "
            "WHERE state IN ('ready','leased') AND json_extract(body, '$.run_id') = ?",
            (run_id,),
        )
        return cur.rowcount

    def next_visible_in(self, queues: Sequence[str]) -> float | None:
        """Seconds until the next ready message of these queues becomes visible (None: nothing waiting)."""
        marks = ",".join("?" * len(queues))
        row = self._conn.execute(
            f"SELECT MIN(visible_at) FROM messages WHERE state='ready' AND queue IN ({marks})",
            tuple(queues),
        ).fetchone()
        return None if row is None or row[0] is None else max(0.0, row[0] - self._clock())

    def counts(self) -> dict[str, int]:
        return dict(self._conn.execute("SELECT state, COUNT(*) FROM messages GROUP BY state").fetchall())

    def open_by_queue(self) -> dict[str, int]:
        """{queue: messages not yet done (ready or leased)}; queues with none are left out."""
        rows = self._conn.execute(
            "SELECT queue, COUNT(*) FROM messages WHERE state IN ('ready', 'leased') GROUP BY queue"
        ).fetchall()
        return {str(q): int(n) for q, n in rows}

    def dead_letters(self) -> list[tuple[str, str, str]]:
        return self._conn.execute("SELECT id, queue, dead_reason FROM messages WHERE state='dead'").fetchall()

    def _transaction(self) -> _Tx:
        return _Tx(self._conn)


class _Tx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self._conn.execute("ROLLBACK" if exc_type else "COMMIT")


def _in_queues(queues: Sequence[str] | None) -> tuple[str, tuple[str, ...]]:
    if queues is None:
        return "", ()
    return f" AND queue IN ({','.join('?' * len(queues))})", tuple(queues)


def _parse(message_id: str, queue: str, body: str, session_id: str | None = None) -> Envelope | None:
    # json.JSONDecodeError and pydantic's ValidationError are both ValueErrors: either way it's poison.
    try:
        return Envelope.model_validate(
            {"id": message_id, "queue": queue, "session_id": session_id, "payload": json.loads(body)}
        )
    except ValueError:
        return None
