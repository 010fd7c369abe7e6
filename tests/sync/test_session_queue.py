"""The local queue honours sessions as Service Bus does: per-session FIFO, one holder at a time, and a lock that
expires when its holder dies (R12: "session lock lost")."""

from __future__ import annotations

from shared.adapters.local.queue import SqliteQueue
from shared.messages import Envelope, ImportChunk

QUEUE = "legacy-changes"


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


def msg(n: int, session: str | None) -> Envelope:
    return Envelope(
        id=f"m{n}", queue=QUEUE, session_id=session,
        payload=ImportChunk(run_id="r", source="jsonl", chunk_id=f"c{n}"),
    )  # fmt: skip


async def test_one_session_is_delivered_in_send_order_one_message_at_a_time(tmp_path):
    queue = SqliteQueue(tmp_path / "q.db")
    await queue.send_all([msg(1, "u1"), msg(2, "u1"), msg(3, "u1")])
    first = queue.receive([QUEUE])
    assert first is not None and first.message_id == "m1"
    assert queue.receive([QUEUE]) is None, "the session's next message waits until m1 is settled"
    queue.complete(first)
    second = queue.receive([QUEUE])
    assert second is not None and second.message_id == "m2"
    queue.abandon(second, "transient")
    again = queue.receive([QUEUE])
    assert again is not None and again.message_id == "m2" and again.delivery_count == 2, "abandoned head comes first"


async def test_other_sessions_and_sessionless_messages_are_not_blocked(tmp_path):
    queue = SqliteQueue(tmp_path / "q.db")
    await queue.send_all([msg(1, "u1"), msg(2, "u1"), msg(3, "u2"), msg(4, None)])
    got = [queue.receive([QUEUE]) for _ in range(4)]
    assert [g.message_id if g else None for g in got] == ["m1", "m3", "m4", None]


async def test_a_second_holder_cannot_take_a_locked_session(tmp_path):
    clock = Clock()
    a = SqliteQueue(tmp_path / "q.db", clock=clock, holder="a", session_lock_s=30)
    b = SqliteQueue(tmp_path / "q.db", clock=clock, holder="b", session_lock_s=30)
    await a.send_all([msg(1, "u1"), msg(2, "u1"), msg(3, "u2")])
    held = a.receive([QUEUE])
    assert held is not None and held.message_id == "m1"
    other = b.receive([QUEUE])
    assert other is not None and other.message_id == "m3", "b gets another session, never u1 while a holds it"
    assert b.receive([QUEUE]) is None


async def test_the_lock_of_a_dead_holder_expires_and_its_late_complete_settles_nothing(tmp_path):
    clock = Clock()
    dead = SqliteQueue(tmp_path / "q.db", clock=clock, holder="dead", session_lock_s=30)
    live = SqliteQueue(tmp_path / "q.db", clock=clock, holder="live", session_lock_s=30)
    await dead.send_all([msg(1, "u1"), msg(2, "u1")])
    lost = dead.receive([QUEUE])
    assert lost is not None
    clock.t += 10
    assert dead.renew(lost)
    clock.t += 29
    assert live.receive([QUEUE]) is None, "renewed: still held"
    clock.t += 2
    retaken = live.receive([QUEUE])
    assert retaken is not None and retaken.message_id == "m1" and retaken.delivery_count == 2
    assert not dead.complete(lost, [msg(9, None)]), "lock lost: the late holder settles and sends nothing"
    assert not dead.renew(lost)
    assert live.complete(retaken)
    nxt = live.receive([QUEUE])
    assert nxt is not None and nxt.message_id == "m2"
    assert "m9" not in {row[0] for row in live._conn.execute("SELECT id FROM messages")}


async def test_recover_of_one_queue_leaves_another_hosts_leases_alone(tmp_path):
    queue = SqliteQueue(tmp_path / "q.db")
    other = Envelope(id="x", queue="import-chunks", payload=ImportChunk(run_id="r", source="jsonl", chunk_id="x"))
    await queue.send_all([msg(1, "u1"), other])
    assert queue.receive([QUEUE]) is not None
    assert queue.receive(["import-chunks"]) is not None
    assert queue.recover([QUEUE]) == 1
    assert queue.counts() == {"ready": 1, "leased": 1}


async def test_the_received_envelope_keeps_its_session_id(tmp_path):
    queue = SqliteQueue(tmp_path / "q.db")
    await queue.send_all([msg(1, "jsonl|u1")])
    got = queue.receive([QUEUE])
    assert got is not None and got.envelope is not None and got.envelope.session_id == "jsonl|u1"
