"""Queue port over Azure Service Bus (azure-servicebus, async), and the way back from a trigger.

Out: `ServiceBusQueue.send_all` sends each Envelope with message_id = envelope id, so the queue's
duplicate detection drops re-sends (R11); `not_before` goes through `schedule_messages` (throttled
continuations, never a redelivery spin). In: `envelope_from_service_bus` rebuilds an Envelope from a
trigger's body or raises `PoisonMessage`, whose reason names the defect, never the content (R7).

Errors (shared/errors.py): `PoisonMessage` (permanent: the trigger parks it on first delivery, no retry);
`OversizedMessage` (a bug in the producer: a payload above MAX_MESSAGE_BYTES must travel by claim check).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from azure.servicebus import ServiceBusMessage, ServiceBusMessageBatch
from azure.servicebus.exceptions import MessageSizeExceededError
from pydantic import TypeAdapter, ValidationError

from shared.errors import OversizedMessage, PoisonMessage
from shared.messages import MAX_MESSAGE_BYTES, Envelope, Payload

__all__ = ["OversizedMessage", "PoisonMessage", "ServiceBusQueue", "envelope_from_service_bus"]

logger = logging.getLogger(__name__)

_PAYLOAD = TypeAdapter(Payload)
_CONTENT_TYPE = "application/json"


class MessageSender(Protocol):
    """The part of `azure.servicebus.aio.ServiceBusSender` we use; tests pass a fake."""

    async def create_message_batch(self) -> ServiceBusMessageBatch: ...
    async def send_messages(self, message: ServiceBusMessageBatch) -> None: ...
    async def schedule_messages(self, messages: ServiceBusMessage, schedule_time_utc: datetime) -> list[int]: ...
    async def close(self) -> None: ...


SenderFactory = Callable[[str], MessageSender]


class ServiceBusQueue:
    """`Queue` port. One cached sender per queue name, created by `sender_for(queue_name)`.

    Build with `from_namespace` (managed identity) or `from_connection_string`; call `close()` at shutdown.
    """

    def __init__(self, sender_for: SenderFactory, *, on_close: Callable[[], Awaitable[None]] | None = None) -> None:
        self._sender_for = sender_for
        self._on_close = on_close
        self._senders: dict[str, MessageSender] = {}
        # The SDK's senders are not coroutine-safe, and the Functions host runs many invocations on one
        # loop: one lock per queue serialises use of each cached sender.
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    @classmethod
    def from_namespace(cls, fully_qualified_namespace: str, credential: Any = None) -> ServiceBusQueue:
        """Identity-based: `<namespace>.servicebus.windows.net`, DefaultAzureCredential unless given."""
        from azure.identity.aio import DefaultAzureCredential
        from azure.servicebus.aio import ServiceBusClient

        owned_credential = credential is None
        cred = DefaultAzureCredential() if owned_credential else credential
        client = ServiceBusClient(fully_qualified_namespace, cred)

        async def close() -> None:
            await client.close()
            if owned_credential:
                await cred.close()

        return cls(lambda queue: client.get_queue_sender(queue), on_close=close)

    @classmethod
    def from_connection_string(cls, connection_string: str) -> ServiceBusQueue:
        from azure.servicebus.aio import ServiceBusClient

        client = ServiceBusClient.from_connection_string(connection_string)
        return cls(lambda queue: client.get_queue_sender(queue), on_close=client.close)

    async def send_all(self, envelopes: Sequence[Envelope]) -> None:
        by_queue: defaultdict[str, list[Envelope]] = defaultdict(list)
        for envelope in envelopes:
            by_queue[envelope.queue].append(envelope)
        for queue, group in by_queue.items():
            async with self._locks[queue]:
                await self._send_to(queue, group)

    async def close(self) -> None:
        senders, self._senders = self._senders, {}
        for sender in senders.values():
            await sender.close()
        if self._on_close is not None:
            await self._on_close()

    async def _send_to(self, queue: str, envelopes: list[Envelope]) -> None:
        sender = self._senders.get(queue)
        if sender is None:
            sender = self._senders[queue] = self._sender_for(queue)
        now_batch: list[ServiceBusMessage] = []
        for envelope in envelopes:
            message = to_service_bus_message(envelope)
            if envelope.not_before is None:
                now_batch.append(message)
            else:
                await sender.schedule_messages(message, _as_utc(envelope.not_before))
        if now_batch:
            await _send_batched(sender, now_batch)
        logger.debug("sent %d message(s) to %s", len(envelopes), queue)


async def _send_batched(sender: MessageSender, messages: list[ServiceBusMessage]) -> None:
    """Fill batches up to the sender's size limit; start a new batch when one is full."""
    batch = await sender.create_message_batch()
    for message in messages:
        try:
            batch.add_message(message)
        except MessageSizeExceededError:
            if len(batch) == 0:
                raise  # cannot happen under MAX_MESSAGE_BYTES; don't loop on an unsendable message
            await sender.send_messages(batch)
            batch = await sender.create_message_batch()
            batch.add_message(message)
    if len(batch):
        await sender.send_messages(batch)


def to_service_bus_message(envelope: Envelope) -> ServiceBusMessage:
    body = _PAYLOAD.dump_json(envelope.payload)
    if len(body) > MAX_MESSAGE_BYTES:
        raise OversizedMessage(
            f"message {envelope.id} is {len(body)} bytes (limit {MAX_MESSAGE_BYTES}): send a claim check instead"
        )
    properties: dict[str | bytes, Any] = {"type": envelope.payload.type, "run_id": envelope.payload.run_id}
    return ServiceBusMessage(
        body=body,
        message_id=envelope.id,
        session_id=envelope.session_id,
        content_type=_CONTENT_TYPE,
        application_properties=properties,
    )


def envelope_from_service_bus(body: bytes, message_id: str, queue: str, *, session_id: str | None = None) -> Envelope:
    """Rebuild the Envelope a trigger received, or raise PoisonMessage (park it, don't retry)."""
    if len(body) > MAX_MESSAGE_BYTES:
        raise PoisonMessage("oversized", f"body is {len(body)} bytes, over the {MAX_MESSAGE_BYTES}-byte limit")
    if not message_id:
        raise PoisonMessage("missing_message_id", "message has no message id")
    try:
        payload = _PAYLOAD.validate_json(body)
    except ValidationError as exc:
        poison = _poison_from(exc)
    else:
        return Envelope(id=message_id, queue=queue, session_id=session_id, payload=payload)
    # Raised outside the except block so no __context__ links back to pydantic's error, which quotes the input.
    raise poison


def _poison_from(exc: ValidationError) -> PoisonMessage:
    # pydantic's own text quotes the input (PII); build the reason from error types and our own field
    # names only. Unknown keys are user content, so they are counted, not named.
    errors = exc.errors(include_input=False, include_url=False, include_context=False)
    kinds = {e["type"] for e in errors}
    if "json_invalid" in kinds or "json_type" in kinds:
        return PoisonMessage("bad_json", "body is not valid UTF-8 JSON")
    if kinds & {"union_tag_invalid", "union_tag_not_found"}:
        return PoisonMessage("unknown_type", "payload 'type' is missing or not a known message type")
    if kinds & {"model_type", "model_attributes_type", "dict_type"}:
        return PoisonMessage("invalid_payload", "payload is not a JSON object")
    unexpected = sum(1 for e in errors if e["type"] == "extra_forbidden")
    problems = sorted(
        {f"{'.'.join(str(p) for p in e['loc'])} ({e['type']})" for e in errors if e["type"] != "extra_forbidden"}
    )
    if unexpected:
        problems.append(f"{unexpected} unexpected field(s)")
    return PoisonMessage("invalid_payload", "payload failed validation: " + ", ".join(problems))


def _as_utc(moment: datetime) -> datetime:
    # A naive datetime would be read as host-local time by the SDK; our clocks produce UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
