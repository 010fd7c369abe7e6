"""Event Grid's `Microsoft.Storage.BlobCreated` event as Service Bus delivers it, read into an ExportDropped.

In: the body of a message Event Grid put on the `export-drops` queue — one event object, or the JSON array of
events its samples show — in the Event Grid schema (`eventType`, `eventTime`, `dataVersion`) or CloudEvents 1.0
(`type`, `time`, `specversion`). Out: an Envelope holding one ExportDropped whose id is the Service Bus message
id (Event Grid keeps it across redeliveries, so duplicate detection drops a re-sent event). Anything else —
not JSON, not a BlobCreated, no blob URL, eTag or size, several events — raises PoisonMessage with a reason
that quotes nothing from the body. Schema: learn.microsoft.com/azure/event-grid/event-schema-blob-storage
(MicrosoftDocs/azure-docs articles/event-grid/event-schema-blob-storage.md) and, for the message, Service Bus
as an event handler (articles/event-grid/handler-service-bus.md).

The container and blob name come from `data.url` (the documented sample's `subject` names another container
than its `url`, so the URL is the one we trust). The run id is a digest of the blob and its eTag: a redelivered
event is the same run, a re-upload of the same name is a new one, and `submit` computes it from its upload.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.errors import PoisonMessage
from shared.messages import MAX_MESSAGE_BYTES, Envelope, ExportDropped

BLOB_CREATED = "Microsoft.Storage.BlobCreated"


class _BlobData(BaseModel):
    """The fields of a Blob Storage event's `data` we read; the others (api, sequencer, …) are ignored."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    url: str = Field(min_length=1)
    e_tag: str = Field(alias="eTag", min_length=1)
    content_length: int = Field(alias="contentLength", ge=0)


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1)
    data: _BlobData


def drop_run_id(container: str, blob_name: str, e_tag: str) -> str:
    """`drop-<file stem>-<digest>`: the same blob version is always the same run, another version another run."""
    tag = e_tag.strip().removeprefix("W/").strip('"')
    digest = hashlib.sha256(f"{container}/{blob_name}|{tag}".encode()).hexdigest()[:10]
    stem = blob_name.rsplit("/", 1)[-1].split(".", 1)[0].lower()
    slug = re.sub(r"[^a-z0-9]+", "-", stem).strip("-")[:24] or "export"
    return f"drop-{slug}-{digest}"


def envelope_from_event_grid(body: bytes, message_id: str, queue: str) -> Envelope:
    """The ExportDropped a BlobCreated event announces, or PoisonMessage (park it, never retry)."""
    if len(body) > MAX_MESSAGE_BYTES:
        raise PoisonMessage("oversized", f"body is {len(body)} bytes, over the {MAX_MESSAGE_BYTES}-byte limit")
    if not message_id:
        raise PoisonMessage("missing_message_id", "message has no message id")
    try:
        document = json.loads(body)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        raise PoisonMessage("bad_json", "body is not valid UTF-8 JSON") from None
    raw = _single_event(document)
    event_type = raw.get("eventType", raw.get("type"))
    if event_type != BLOB_CREATED:
        named = event_type if isinstance(event_type, str) and event_type.startswith("Microsoft.") else "another type"
        raise PoisonMessage("not_blob_created", f"the event is {named}, not {BLOB_CREATED}")
    try:
        event = _Event.model_validate(raw)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors(include_input=False)})
        poison = PoisonMessage("malformed_event", "BlobCreated event lacks a valid " + ", ".join(fields))
    else:
        return _envelope(event, message_id, queue)
    raise poison  # outside the except block: pydantic's error quotes the input


def _single_event(document: Any) -> dict[str, Any]:
    if isinstance(document, list):  # the documented samples wrap the event in an array
        if len(document) != 1:
            raise PoisonMessage("malformed_event", f"expected one event per message, got {len(document)}")
        document = document[0]
    if not isinstance(document, dict):
        raise PoisonMessage("malformed_event", "the body is not an event object")
    return document


def _path_style(host: str) -> bool:
    """The Storage SDKs' rule: an IP address or localhost puts the account name first in the path."""
    if host == "localhost":
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _envelope(event: _Event, message_id: str, queue: str) -> Envelope:
    url = urlsplit(event.data.url)
    container, _, blob = url.path.lstrip("/").partition("/")
    if url.scheme not in ("http", "https") or not url.netloc or not container or not blob:
        raise PoisonMessage("malformed_event", "data.url is not a blob URL (https://<account>/<container>/<blob>)")
    if _path_style(url.hostname or ""):  # Azurite, IP endpoints: /<account>/<container>/<blob>
        container, _, blob = blob.partition("/")
        if not container or not blob:
            raise PoisonMessage(
                "malformed_event", "data.url is not a blob URL (http://<ip>/<account>/<container>/<blob>)"
            )
    container, blob = unquote(container), unquote(blob)
    drop = ExportDropped(
        run_id=drop_run_id(container, blob, event.data.e_tag), event_id=event.id, container=container,
        blob_name=blob, e_tag=event.data.e_tag, content_length=event.data.content_length,
    )  # fmt: skip
    return Envelope(id=message_id, queue=queue, payload=drop)
