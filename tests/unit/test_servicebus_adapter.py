"""ServiceBusQueue and envelope_from_service_bus at their seam: a fake sender stands in for the SDK's.

The fake hands out real ServiceBusMessageBatch objects (with a small size limit), so batch splitting is
decided by the SDK's own size accounting, not by the fake.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from azure.servicebus import ServiceBusMessage, ServiceBusMessageBatch

from shared.adapters.servicebus import (
    OversizedMessage,
    PoisonMessage,
    ServiceBusQueue,
    envelope_from_service_bus,
)
from shared.messages import MAX_MESSAGE_BYTES, ChunkImported, Envelope, ImportChunk, PlanExport, envelope_id

CANARY = "alice.canary@example.com"


class RecordingBatch(ServiceBusMessageBatch):
    def __init__(self, max_size_in_bytes: int) -> None:
        super().__init__(max_size_in_bytes=max_size_in_bytes)
        self.added: list[ServiceBusMessage] = []

    def add_message(self, message):  # type: ignore[no-untyped-def]
        super().add_message(message)
        self.added.append(message)


class FakeSender:
    """Records what reached 'the broker': sent batches and scheduled messages."""

    def __init__(self, queue: str, max_batch_bytes: int) -> None:
        self.queue = queue
        self.max_batch_bytes = max_batch_bytes
        self.batches: list[list[ServiceBusMessage]] = []
        self.scheduled: list[tuple[ServiceBusMessage, datetime]] = []
        self.closed = False

    async def create_message_batch(self) -> RecordingBatch:
        return RecordingBatch(self.max_batch_bytes)

    async def send_messages(self, batch: RecordingBatch) -> None:
        self.batches.append(list(batch.added))

    async def schedule_messages(self, message: ServiceBusMessage, schedule_time_utc: datetime) -> list[int]:
        self.scheduled.append((message, schedule_time_utc))
        return [len(self.scheduled)]

    async def close(self) -> None:
        self.closed = True


class FakeBroker:
    def __init__(self, max_batch_bytes: int = 256 * 1024) -> None:
        self.max_batch_bytes = max_batch_bytes
        self.senders: dict[str, FakeSender] = {}
        self.opened: list[str] = []

    def sender_for(self, queue: str) -> FakeSender:
        self.opened.append(queue)
        return self.senders.setdefault(queue, FakeSender(queue, self.max_batch_bytes))

    def sent(self, queue: str) -> list[ServiceBusMessage]:
        return [m for batch in self.senders[queue].batches for m in batch]


def chunk_envelope(n: int, *, not_before: datetime | None = None, attempt: int = 0) -> Envelope:
    key = f"c{n:05d}"
    return Envelope(
        id=envelope_id("run-1", "import", key, attempt),
        queue="import-chunks",
        not_before=not_before,
        payload=ImportChunk(run_id="run-1", source="jsonl", chunk_id=key, attempt=attempt),
    )


def body_of(message: ServiceBusMessage) -> bytes:
    return b"".join(message.body)


async def test_message_id_is_the_envelope_id_and_body_is_the_payload() -> None:
    broker = FakeBroker()
    queue = ServiceBusQueue(broker.sender_for)
    envelope = chunk_envelope(1)

    await queue.send_all([envelope])

    [message] = broker.sent("import-chunks")
    assert message.message_id == "run-1:import:c00001"
    assert message.content_type == "application/json"
    assert message.application_properties == {"type": "ImportChunk", "run_id": "run-1"}
    assert json.loads(body_of(message)) == envelope.payload.model_dump(mode="json")
    rebuilt = envelope_from_service_bus(body_of(message), message.message_id, "import-chunks")
    assert rebuilt == envelope


async def test_session_id_is_set_from_the_envelope() -> None:
    broker = FakeBroker()
    envelope = Envelope(
        id="run-1:change:u-42:7",
        queue="legacy-changes",
        session_id="u-42",
        payload=ChunkImported(run_id="run-1", chunk_id="c1"),
    )

    await ServiceBusQueue(broker.sender_for).send_all([envelope])

    assert broker.sent("legacy-changes")[0].session_id == "u-42"


async def test_not_before_is_scheduled_not_sent_and_normalised_to_utc() -> None:
    broker = FakeBroker()
    later = datetime(2030, 1, 2, 13, 0, tzinfo=timezone(timedelta(hours=1)))
    naive = datetime(2030, 1, 2, 12, 30)
    continuation = chunk_envelope(1, not_before=later, attempt=1)

    await ServiceBusQueue(broker.sender_for).send_all(
        [continuation, chunk_envelope(2, not_before=naive), chunk_envelope(3)]
    )

    sender = broker.senders["import-chunks"]
    assert [(m.message_id, t) for m, t in sender.scheduled] == [
        ("run-1:import:c00001:attempt-1", datetime(2030, 1, 2, 12, 0, tzinfo=UTC)),
        ("run-1:import:c00002", datetime(2030, 1, 2, 12, 30, tzinfo=UTC)),
    ]
    assert [m.message_id for m in broker.sent("import-chunks")] == ["run-1:import:c00003"]


async def test_a_full_batch_is_split_and_every_message_sent_once_in_order() -> None:
    broker = FakeBroker(max_batch_bytes=2_000)
    envelopes = [chunk_envelope(n) for n in range(40)]

    await ServiceBusQueue(broker.sender_for).send_all(envelopes)

    batches = broker.senders["import-chunks"].batches
    assert len(batches) > 1, "40 messages of ~150 bytes cannot fit one 2,000-byte batch"
    assert [m.message_id for m in broker.sent("import-chunks")] == [e.id for e in envelopes]


async def test_one_sender_per_queue_reused_across_calls_and_closed() -> None:
    broker = FakeBroker()
    queue = ServiceBusQueue(broker.sender_for)
    other = Envelope(id="run-1:track:c1", queue="run-events", payload=ChunkImported(run_id="run-1", chunk_id="c1"))

    await queue.send_all([chunk_envelope(1), other])
    await queue.send_all([chunk_envelope(2)])
    await queue.close()

    assert sorted(broker.opened) == ["import-chunks", "run-events"]
    assert all(s.closed for s in broker.senders.values())


async def test_an_oversized_envelope_is_refused_before_anything_is_sent() -> None:
    broker = FakeBroker()
    huge = Envelope(
        id="run-1:plan:x",
        queue="export-drops",
        payload=PlanExport(run_id="run-1", source="jsonl", export_ref="x" * (MAX_MESSAGE_BYTES + 1)),
    )

    with pytest.raises(OversizedMessage):
        await ServiceBusQueue(broker.sender_for).send_all([huge])
    assert broker.senders.get("export-drops") is None or broker.sent("export-drops") == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"type": "ImportChunk", "run_id": "' + CANARY.encode() + b'"', "bad_json"),
        (b"\xff\xfe" + CANARY.encode(), "bad_json"),
        (json.dumps({"type": "DeleteEverything", "owner": CANARY}).encode(), "unknown_type"),
        (json.dumps({"run_id": CANARY}).encode(), "unknown_type"),
        (json.dumps([CANARY]).encode(), "invalid_payload"),
        (
            json.dumps({"type": "ImportChunk", "run_id": "r", "source": "s", "chunk_id": 7, CANARY: 1}).encode(),
            "invalid_payload",
        ),
        (
            json.dumps({"type": "PlanExport", "run_id": "r", "source": "s", "export_ref": CANARY * 3000}).encode(),
            "oversized",
        ),
    ],
    ids=["truncated", "not-utf8", "unknown-type", "no-type", "not-object", "wrong-field-types", "oversized"],
)
def test_poison_messages_get_a_reason_code_that_holds_no_content(body: bytes, code: str) -> None:
    with pytest.raises(PoisonMessage) as caught:
        envelope_from_service_bus(body, "m-1", "import-chunks")

    assert caught.value.code == code
    rendered = f"{caught.value} {caught.value.reason} {caught.value!r} {caught.value.__cause__!r}"
    assert "canary" not in rendered.lower()
    assert caught.value.__cause__ is None and caught.value.__context__ is None, "pydantic's error quotes the input"


def test_validation_reason_names_our_fields_and_counts_unknown_ones() -> None:
    body = json.dumps({"type": "ImportChunk", "run_id": "r", "chunk_id": 7, CANARY: 1}).encode()

    with pytest.raises(PoisonMessage) as caught:
        envelope_from_service_bus(body, "m-1", "import-chunks")

    assert "source (missing)" in caught.value.reason
    assert "chunk_id (string_type)" in caught.value.reason
    assert "1 unexpected field(s)" in caught.value.reason


def test_a_message_without_id_is_poison() -> None:
    body = ChunkImported(run_id="r", chunk_id="c").model_dump_json().encode()

    with pytest.raises(PoisonMessage) as caught:
        envelope_from_service_bus(body, "", "run-events")
    assert caught.value.code == "missing_message_id"
