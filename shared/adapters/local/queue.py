"""SqliteQueue: the local host's durable queue, with Service Bus semantics where they matter.

* duplicate detection: a message id that was ever sent is dropped (INSERT OR IGNORE);
* peek-lock: `receive` leases a message; `complete` settles it; `abandon` makes it visible again
  at once (as Service Bus does for an uncaught exception); delivery count grows per lease;
* dead-lettering after `max_delivery_count` deliveries, or at once for a poison message;
* scheduled delivery: a message is invisible until its `not_before`.
A crashed host's leases are released by `recover()` when the next host starts (one host per state dir).
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
"""


@dataclass(frozen=True)
class Received:
    envelope: Envelope | None  # None when the body could not be parsed (poison)
    message_id: str
    queue: str
    body: str
    delivery_count: int
    lock_token: str


class SqliteQueue:
    def __init__(
        self,
        path: Path,
        *,
        max_delivery_count: int = 10,
        clock: Callable[[], float] = time.time,
        read_only: bool = False,
    ) -> None:
        self._conn = connect(path, read_only=read_only)
        if not read_only:
            self._conn.executescript(_SCHEMA)
        self.max_delivery_count = max_delivery_count
        self._clock = clock

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

    def recover(self) -> int:
        """Release leases held by a host that died: its messages become visible again now."""
        cur = self._conn.execute(
            "UPDATE messages SET state='ready', lock_token=NULL, visible_at=? WHERE state='leased'", (self._clock(),)
        )
        return cur.rowcount

    def receive(self, queues: Sequence[str]) -> Received | None:
        """Lease the next visible message of these queues (oldest first), or None."""
        marks = ",".join("?" * len(queues))
        token = uuid.uuid4().hex
        with self._transaction():
            row = self._conn.execute(
                f"SELECT id, queue, body, delivery_count FROM messages WHERE state='ready' AND queue IN ({marks}) "
                "AND visible_at <= ? ORDER BY visible_at, seq LIMIT 1",
                (*queues, self._clock()),
            ).fetchone()
            if row is None:
                return None
            message_id, queue, body, count = row
            self._conn.execute(
                "UPDATE messages SET state='leased', lock_token=?, delivery_count=? WHERE id=?",
                (token, count + 1, message_id),
            )
        return Received(_parse(message_id, queue, body), message_id, queue, body, count + 1, token)

    def complete(self, received: Received, follow_ups: Sequence[Envelope] = ()) -> None:
        """Settle a message and send what follows from it, atomically."""
        with self._transaction():
            self.send_now(follow_ups, conn=self._conn)
            self._conn.execute(
                "UPDATE messages SET state='done', lock_token=NULL WHERE id=? AND lock_token=?",
                (received.message_id, received.lock_token),
            )

    def abandon(self, received: Received, reason: str) -> bool:
        """Make the message visible again at once; dead-letter it past max deliveries. True if dead-lettered."""
        if received.delivery_count >= self.max_delivery_count:
            self.dead_letter(received, f"MaxDeliveryCountExceeded: {reason}")
            return True
        self._conn.execute(
            "UPDATE messages SET state='ready', lock_token=NULL, visible_at=? WHERE id=? AND lock_token=?",
            (self._clock(), received.message_id, received.lock_token),
        )
        return False

    def dead_letter(self, received: Received, reason: str) -> None:
        self._conn.execute(
            "UPDATE messages SET state='dead', lock_token=NULL, dead_reason=? WHERE id=?",
            (reason[:500], received.message_id),
        )

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


def _parse(message_id: str, queue: str, body: str) -> Envelope | None:
    # json.JSONDecodeError and pydantic's ValidationError are both ValueErrors: either way it's poison.
    try:
        return Envelope.model_validate({"id": message_id, "queue": queue, "payload": json.loads(body)})
    except ValueError:
        return None
