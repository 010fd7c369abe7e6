"""The local queue behaves like Service Bus where the workflow depends on it (R1, R7, R11)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.adapters.local.queue import SqliteQueue
from shared.messages import Envelope, ImportChunk


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


def chunk(n: int, attempt: int = 0, not_before: datetime | None = None) -> Envelope:
    suffix = f":attempt-{attempt}" if attempt else ""
    return Envelope(
        id=f"run:import:c{n}{suffix}", queue="import-chunks", not_before=not_before,
        payload=ImportChunk(run_id="run", source="jsonl", chunk_id=f"c{n}", attempt=attempt),
    )  # fmt: skip


async def test_a_resent_message_id_is_dropped(tmp_path):
    """R11: a producer re-sending after an ambiguous send queues nothing twice."""
    queue = SqliteQueue(tmp_path / "q.db")
    await queue.send_all([chunk(1), chunk(2)])
    await queue.send_all([chunk(1), chunk(2), chunk(3)])
    assert queue.counts() == {"ready": 3}


async def test_abandoned_message_is_redelivered_then_dead_lettered_after_max_deliveries(tmp_path):
    queue = SqliteQueue(tmp_path / "q.db", max_delivery_count=3)
    await queue.send_all([chunk(1)])
    for delivery in range(1, 4):
        received = queue.receive(["import-chunks"])
        assert received is not None and received.delivery_count == delivery
        dead = queue.abandon(received, "boom")
    assert dead
    assert queue.receive(["import-chunks"]) is None
    assert queue.dead_letters()[0][2].startswith("MaxDeliveryCountExceeded")


async def test_poison_body_is_received_without_an_envelope(tmp_path):
    queue = SqliteQueue(tmp_path / "q.db")
    queue._conn.execute(
        "INSERT INTO messages(id, queue, body, seq, visible_at) VALUES ('p', 'import-chunks', '{bad', 1, 0)"
    )
    received = queue.receive(["import-chunks"])
    assert received is not None and received.envelope is None


async def test_scheduled_message_stays_invisible_until_its_time(tmp_path):
    clock = Clock()
    queue = SqliteQueue(tmp_path / "q.db", clock=clock)
    later = datetime.fromtimestamp(clock.t, UTC) + timedelta(seconds=10)
    await queue.send_all([chunk(1, attempt=1, not_before=later)])
    assert queue.receive(["import-chunks"]) is None
    assert 9.9 < (queue.next_visible_in(["import-chunks"]) or 0) <= 10
    clock.t += 10
    assert queue.receive(["import-chunks"]) is not None


async def test_leases_of_a_crashed_host_are_released_on_recover(tmp_path):
    queue = SqliteQueue(tmp_path / "q.db")
    await queue.send_all([chunk(1)])
    assert queue.receive(["import-chunks"]) is not None
    assert queue.receive(["import-chunks"]) is None  # leased
    restarted = SqliteQueue(tmp_path / "q.db")
    assert restarted.recover() == 1
    again = restarted.receive(["import-chunks"])
    assert again is not None and again.delivery_count == 2


async def test_completion_and_follow_ups_are_one_transaction(tmp_path):
    queue = SqliteQueue(tmp_path / "q.db")
    await queue.send_all([chunk(1)])
    received = queue.receive(["import-chunks"])
    assert received is not None
    queue.complete(received, [chunk(2)])
    assert queue.counts() == {"done": 1, "ready": 1}
