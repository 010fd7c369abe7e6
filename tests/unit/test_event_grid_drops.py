"""Event Grid's BlobCreated event, as Microsoft documents it, becomes the PlanExport of one run; nothing else does.

The sample bodies (tests/unit/event_grid/*.json) are Microsoft's, copied from
learn.microsoft.com/azure/event-grid/event-schema-blob-storage (MicrosoftDocs/azure-docs
articles/event-grid/event-schema-blob-storage.md), both schemas, unchanged unless a test says which fields it
points elsewhere.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shared.config import Settings
from shared.errors import PoisonMessage
from shared.event_grid import drop_run_id, envelope_from_event_grid
from shared.handlers.accept_export_drop import accept_export_drop
from shared.handlers.workflow import Workflow
from shared.messages import ExportDropped, PlanExport
from shared.outcomes import RunState
from shared.stages import stage
from tests.fakes import FakePorts

SAMPLES = Path(__file__).parent / "event_grid"
# Event Grid schema, "Microsoft.Storage.BlobCreated event" (its subject names test-container, its url testcontainer).
EVENT_GRID_SAMPLE = (SAMPLES / "blob-created.eventgrid.json").read_text()

# Cloud event schema, the same event.
CLOUD_EVENT_SAMPLE = (SAMPLES / "blob-created.cloudevents.json").read_text()

# Event Grid schema, "Microsoft.Storage.BlobDeleted event".
BLOB_DELETED_SAMPLE = (SAMPLES / "blob-deleted.eventgrid.json").read_text()

DROP_URL = "https://my-storage-account.blob.core.windows.net/migration/exports/auth0/2026%20Q1/users.ndjson"


def as_drop(sample: str, url: str = DROP_URL) -> bytes:
    """Microsoft's sample with only data.url (and the subject that goes with it) pointed at an export drop."""
    [event] = json.loads(sample)
    event["data"]["url"] = url
    event["subject"] = "/blobServices/default/containers/migration/blobs/exports/auth0/2026 Q1/users.ndjson"
    return json.dumps([event]).encode()


def decode(body: bytes | str, message_id: str = "831e1650-001e-001b-66ab-eeb76e069631") -> ExportDropped:
    raw = body.encode() if isinstance(body, str) else body
    payload = envelope_from_event_grid(raw, message_id, "export-drops").payload
    assert isinstance(payload, ExportDropped)
    return payload


@pytest.mark.parametrize("sample", [EVENT_GRID_SAMPLE, CLOUD_EVENT_SAMPLE], ids=["event-grid", "cloudevents"])
def test_microsofts_sample_reads_into_its_blob_size_and_etag(sample: str):
    drop = decode(sample)
    assert (drop.container, drop.blob_name) == ("testcontainer", "new-file.txt")  # from data.url, not the subject
    assert drop.e_tag == '"0x8D4BCC2E4835CD0"' and drop.content_length == 524288
    assert drop.event_id == "831e1650-001e-001b-66ab-eeb76e069631"
    assert drop.run_id == drop_run_id("testcontainer", "new-file.txt", '"0x8D4BCC2E4835CD0"')


@pytest.mark.parametrize("sample", [EVENT_GRID_SAMPLE, CLOUD_EVENT_SAMPLE], ids=["event-grid", "cloudevents"])
async def test_the_sample_pointed_at_a_drop_becomes_one_plan_export(sample: str):
    # Given Microsoft's event for a blob created under migration/exports/auth0/
    drop = decode(as_drop(sample))
    ports = FakePorts().ports
    # When the accept stage handles it
    [envelope] = await accept_export_drop(drop, ports, Workflow.from_settings(Settings(CHUNK_SIZE=250), apps=1))
    # Then one PlanExport goes to the plan stage's queue, for that blob, as the auth0 source
    plan = envelope.payload
    assert isinstance(plan, PlanExport)
    assert envelope.queue == "export-plans" and stage("plan_export").queue_name(Settings()) == "export-plans"
    assert (plan.source, plan.export_ref, plan.chunk_size) == ("auth0", "exports/auth0/2026 Q1/users.ndjson", 250)
    assert plan.run_id == drop.run_id and plan.run_id.startswith("drop-users-")
    assert envelope.id == f"{drop.run_id}:plan:export"


async def test_a_redelivered_event_is_the_same_run_and_a_reupload_a_new_one():
    first = decode(as_drop(EVENT_GRID_SAMPLE))
    assert decode(as_drop(EVENT_GRID_SAMPLE), message_id="another-delivery").run_id == first.run_id
    [event] = json.loads(as_drop(EVENT_GRID_SAMPLE))
    event["data"]["eTag"] = '"0x8D4BCC2E4835CD1"'
    assert decode(json.dumps(event)).run_id != first.run_id  # one event object (not an array) reads the same


async def test_a_drop_whose_run_is_planned_already_sends_nothing():
    drop = decode(as_drop(EVENT_GRID_SAMPLE))
    ports = FakePorts().ports
    await ports.ledger.save_run(
        RunState(
            run_id=drop.run_id, source="auth0", export_ref=drop.blob_name, started_at=datetime(2026, 1, 1, tzinfo=UTC)
        )
    )
    assert await accept_export_drop(drop, ports, Workflow.from_settings(Settings(), apps=1)) == []


def poison_of(body: bytes) -> PoisonMessage:
    with pytest.raises(PoisonMessage) as caught:
        envelope_from_event_grid(body, "m1", "export-drops")
    return caught.value


def sample_with(change: dict[str, Any] | None = None, drop: tuple[str, ...] = ()) -> bytes:
    [event] = json.loads(as_drop(EVENT_GRID_SAMPLE))
    data = copy.deepcopy(event["data"])
    for key in drop:
        data.pop(key)
    data.update(change or {})
    return json.dumps([event | {"data": data}]).encode()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (BLOB_DELETED_SAMPLE.encode(), "not_blob_created"),
        (b"{not json", "bad_json"),
        (b"\xff\xfe", "bad_json"),
        (b'"users.ndjson"', "malformed_event"),
        (b"[]", "malformed_event"),
        (as_drop(EVENT_GRID_SAMPLE)[:-1] + b"," + as_drop(EVENT_GRID_SAMPLE)[1:], "malformed_event"),  # two events
        (b'{"id": "x", "data": {}}', "not_blob_created"),
        (sample_with(drop=("eTag",)), "malformed_event"),
        (sample_with({"contentLength": -1}), "malformed_event"),
        (sample_with({"url": "not a url"}), "malformed_event"),
        (sample_with({"url": "https://acct.blob.core.windows.net/only-a-container"}), "malformed_event"),
    ],
)
def test_anything_but_a_whole_blob_created_event_is_poison_naming_no_content(body: bytes, code: str):
    poison = poison_of(body)
    assert poison.code == code
    for content in ("users", "auth0", "0x8D4BCC2E4835CD0", "not a url", "only-a-container"):
        assert content not in str(poison)


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("https://my-storage-account.blob.core.windows.net/other/exports/auth0/users.ndjson", "other_container"),
        ("https://my-storage-account.blob.core.windows.net/migration/runs/r1/chunks/c000000.bin", "not_an_export"),
        ("https://my-storage-account.blob.core.windows.net/migration/exports/users.ndjson", "not_an_export"),
        ("https://my-storage-account.blob.core.windows.net/migration/exports/ldap/users.ldif", "unknown_source"),
    ],
)
async def test_blobs_that_are_not_export_drops_are_poison_never_planned(url: str, code: str):
    drop = decode(as_drop(EVENT_GRID_SAMPLE, url=url))
    with pytest.raises(PoisonMessage) as caught:
        await accept_export_drop(drop, FakePorts().ports, Workflow.from_settings(Settings(), apps=1))
    assert caught.value.code == code


def test_an_azurite_url_names_its_account_first():
    url = "http://127.0.0.1:10000/devstoreaccount1/migration/exports/jsonl/users.jsonl"
    drop = decode(as_drop(EVENT_GRID_SAMPLE, url=url))
    assert (drop.container, drop.blob_name) == ("migration", "exports/jsonl/users.jsonl")


def test_only_the_accept_stage_admits_a_drop_and_it_admits_nothing_else():
    drop = decode(as_drop(EVENT_GRID_SAMPLE))
    stage("accept_export_drop").admit(drop)
    for other in ("plan_export", "import_chunk", "track_run", "dispatch_alert"):
        with pytest.raises(PoisonMessage, match="ExportDropped does not belong here"):
            stage(other).admit(drop)
    with pytest.raises(PoisonMessage, match="does not belong here"):
        stage("accept_export_drop").admit(PlanExport(run_id="r", source="jsonl", export_ref="e"))
