"""A run started in Azure, end to end over Azurite: `submit --azure` uploads, Event Grid's event starts the run,
the Functions triggers carry it to its report, and `status --azure` reads it from the Table ledger.

There is no Event Grid here: the test reads the uploaded blob's URL, eTag and size and delivers the BlobCreated
event Event Grid would (Microsoft's documented sample body with those three fields) to the accept_export_drop
function, as Service Bus delivers a message. Between triggers the queue is the SQLite one (no Service Bus here);
blobs, chunks, reports and the ledger are Azurite's. The tenant is the emulator.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from azure.data.tables.aio import TableServiceClient
from azure.storage.blob.aio import ContainerClient

from shared.adapters.blobs import BlobArtifactStore, BlobChunkStore, BlobExportStore
from shared.adapters.tables import TableLedger
from shared.bootstrap import AzureRuntime, install, local_parts
from shared.config import Settings
from shared.handlers.workflow import Workflow
from shared.sealing import Sealer
from shared.stages import queue_routes
from tests.conftest import SAMPLE, emulator_stats, settings_for
from tests.functions.triggers import function_named, sb_message
from tests.integration.conftest import DEV_KEY
from tests.unit.test_event_grid_drops import EVENT_GRID_SAMPLE

ROOT = Path(__file__).resolve().parents[2]
SUBMIT_TIMEOUT_S = 180


@dataclasses.dataclass
class Deployment:
    """What `azd up` would have made: a container, a ledger table, and the Functions app's runtime."""

    connection: str
    container: ContainerClient
    env: dict[str, str]  # the operator's: where `submit` and `status --azure` find the storage account
    parts: Any  # the SQLite queue between triggers
    settings: Settings  # the Functions app's
    emulator: Any

    async def deliver_blob_created(self, blob_name: str) -> str:
        """Deliver the BlobCreated event Event Grid sends for this blob; return the event id (the message id)."""
        props = await self.container.get_blob_client(blob_name).get_blob_properties()
        [event] = json.loads(EVENT_GRID_SAMPLE)
        event["id"] = str(uuid.uuid4())
        event["subject"] = f"/blobServices/default/containers/{self.container.container_name}/blobs/{blob_name}"
        event["data"] |= {"url": f"{self.container.url}/{quote(blob_name)}", "eTag": props.etag,
                          "contentLength": props.size}  # fmt: skip
        await function_named("accept_export_drop")(sb_message(json.dumps(event).encode(), event["id"]))
        return str(event["id"])

    async def drain(self) -> None:
        """Deliver every message the triggers send to its trigger, as Service Bus would, until none is left."""
        triggers = {queue: function_named(row.name) for queue, row in queue_routes(self.settings).items()}
        for _ in range(300):
            received = self.parts.queue.receive(list(triggers))
            if received is None:
                return
            await triggers[received.queue](sb_message(received.body.encode(), received.message_id))
            self.parts.queue.complete(received)
        raise AssertionError("the run did not settle within 300 messages")


@pytest.fixture
async def deployment(azurite_connection_string: str, start_emulator, tmp_path: Path) -> AsyncIterator[Deployment]:
    suffix = uuid.uuid4().hex[:12]
    container_name, table_name = f"migration{suffix}", f"ledger{suffix}"
    container = ContainerClient.from_connection_string(azurite_connection_string, container_name)
    await container.create_container()
    async with TableServiceClient.from_connection_string(azurite_connection_string) as tables:
        await tables.create_table(table_name)
    emulator = start_emulator(time_scale=20)
    settings = settings_for(emulator, tmp_path / "worker", BLOB_CONTAINER=container_name, LEDGER_TABLE=table_name,
                            CHUNK_SIZE=100)  # fmt: skip
    parts = local_parts(settings)  # the emulator's directory and the SQLite queue between triggers
    sealer = Sealer.from_base64(base64.b64encode(os.urandom(32)).decode())
    ledger = TableLedger.from_connection_string(azurite_connection_string, table_name)
    ports = dataclasses.replace(
        parts.ports, ledger=ledger, exports=BlobExportStore(container), chunks=BlobChunkStore(container, sealer),
        artifacts=BlobArtifactStore(container),
    )  # fmt: skip
    install(azure=AzureRuntime(settings=settings, ports=ports, workflow=Workflow.from_settings(settings, apps=1)))
    env = {"STORAGE_CONNECTION_STRING": azurite_connection_string, "BLOB_CONTAINER": container_name,
           "LEDGER_TABLE": table_name}  # fmt: skip
    try:
        yield Deployment(azurite_connection_string, container, env, parts, settings, emulator)
    finally:
        install()
        await ledger.close()
        await parts.close()
        await container.delete_container()
        await container.close()


def operator_env(env: dict[str, str]) -> dict[str, str]:
    return os.environ | {"COLUMNS": "400"} | env  # wide: rich must not wrap a line the test reads


def submit_process(export: Path, env: dict[str, str], *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cli", "submit", str(export), "--source", "jsonl", "--azure", "--poll", "0.3",
         "--no-progress", *extra],
        cwd=ROOT, env=operator_env(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def status_azure(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`ciam-migrate status --azure …` as the operator runs it (a process of its own: it runs its own loop)."""
    command = [sys.executable, "-m", "cli", "status", "--azure", *args]
    return subprocess.run(command, cwd=ROOT, env=operator_env(env), capture_output=True, text=True, timeout=120)


async def uploaded_drop(deployment: Deployment, proc: subprocess.Popen[str]) -> str:
    """The blob `submit` uploaded under exports/ (bounded wait; a submit that exits first fails the test)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        names = [b.name async for b in deployment.container.list_blobs(name_starts_with="exports/")]
        if names:
            [name] = names
            return str(name)
        if proc.poll() is not None:
            raise AssertionError(
                f"submit exited {proc.returncode} before uploading: {proc.stdout and proc.stdout.read()}"
            )
        time.sleep(0.2)
    raise AssertionError("submit uploaded nothing within 60 s")


async def test_submit_uploads_the_event_starts_the_run_and_status_reads_it(deployment: Deployment):
    # Given a deployment, and `submit --azure` running on the operator's machine
    proc = submit_process(SAMPLE, deployment.env, "--timeout", str(SUBMIT_TIMEOUT_S))
    try:
        # When its upload's BlobCreated event reaches the Functions app and the triggers run
        blob_name = await uploaded_drop(deployment, proc)
        assert blob_name.startswith("exports/jsonl/") and blob_name.endswith("/users.jsonl")
        await deployment.deliver_blob_created(blob_name)
        await deployment.drain()
        output, _ = proc.communicate(timeout=SUBMIT_TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    # Then submit saw the run finish from the ledger and exited 0 with its counts
    assert proc.returncode == 0, output
    run_line = next(line for line in output.splitlines() if line.startswith("Uploaded users.jsonl"))
    run_id = run_line.rsplit("run ", 1)[1].strip()
    assert run_id.startswith("drop-users-")
    report = json.loads(await (await deployment.container.download_blob(f"runs/{run_id}/report.json")).readall())
    c = report["counts"]
    assert c["total"] == c["created"] + c["rejected"] == 250 and c["failed"] == c["already_present"] == 0
    assert c["created"] > 200 and c["rejected"] > 0  # the sample has rejects on purpose
    assert (f"Run {run_id}: 250 records → created {c['created']}, already present 0, rejected {c['rejected']}, "
            "failed 0") in output  # fmt: skip
    # And status --azure reads the same run from the Table ledger, finished, with its report in the container
    result = status_azure(deployment.env, run_id)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"{run_id}: finished"
    assert (f"250 records: created {c['created']}, already present 0, failed 0, rejected before any write "
            f"{c['rejected']}") in result.stdout  # fmt: skip
    assert f"report: {deployment.container.url}/runs/{run_id}/report.json" in result.stdout
    # The users exist once in the tenant, and no secret reached the operator's screen
    assert emulator_stats(deployment.emulator)["users"] == c["created"]
    for text in (output, result.stdout, result.stderr):
        assert DEV_KEY not in text and "AccountKey" not in text


async def test_an_unreadable_drop_fails_its_run_and_status_shows_the_cause(deployment: Deployment, tmp_path: Path):
    # Given a gzip export that is cut short, dropped straight into exports/jsonl/ (no submit to refuse it)
    name = "exports/jsonl/2026-03-01/users.jsonl.gz"
    await deployment.container.upload_blob(name, b"\x1f\x8b\x08\x00broken")
    # When Event Grid's event for it reaches the app
    await deployment.deliver_blob_created(name)
    assert deployment.parts.queue.counts() == {"ready": 1}  # the PlanExport
    await deployment.drain()
    # Then the run is failed with the reader's cause, once (not redelivered), and status says so
    result = status_azure(deployment.env, "--json")
    assert result.returncode == 0, result.stderr
    [run] = json.loads(result.stdout)["runs"]
    assert run["state"].startswith("failed: ") and "users.jsonl.gz" in run["error"]
    assert run["next"].startswith("fix the cause above")
    text = status_azure(deployment.env, run["run_id"]).stdout
    assert text.splitlines()[0] == f"{run['run_id']}: {run['state']}"
    # the PlanExport was settled on its one delivery (the trigger returned), nothing followed it
    assert deployment.parts.queue.counts() == {"done": 1}, "the unreadable export was redelivered or chunked"
    parked = [b.name async for b in deployment.container.list_blobs(name_starts_with="runs/_poison/export-plans/")]
    assert parked == [f"runs/_poison/export-plans/{run['run_id']}:plan:export.reason"]


def test_status_azure_without_storage_settings_says_which_to_set():
    result = status_azure({"STORAGE_CONNECTION_STRING": "", "STORAGE_ACCOUNT_URL": "", "TABLES_ACCOUNT_URL": ""})
    assert result.returncode == 2
    assert "set STORAGE_ACCOUNT_URL and TABLES_ACCOUNT_URL" in result.stderr


async def test_a_failed_upload_names_the_setting_and_never_the_sas(deployment: Deployment):
    # Given a SAS connection string to a container that does not exist
    sas = (
        "sv=2022-11-02&ss=bt&srt=sco&sp=rwdlacu&se=2099-01-01T00:00:00Z&st=2020-01-01T00:00:00Z&spr=https,http"
        "&sig=SECRETSIG%3D"
    )
    blob_endpoint = deployment.container.url.rsplit("/", 1)[0]
    table_endpoint = deployment.connection.split("TableEndpoint=")[1].split(";")[0]
    connection = f"BlobEndpoint={blob_endpoint};TableEndpoint={table_endpoint};SharedAccessSignature={sas}"
    env = {"STORAGE_CONNECTION_STRING": connection, "BLOB_CONTAINER": "no-such-container"}
    proc = submit_process(SAMPLE, env, "--timeout", "5")
    output, _ = proc.communicate(timeout=120)
    # Then submit stops with exit 2 and one line that names what to check, without the signature
    assert proc.returncode == 2, output
    [line] = [ln for ln in output.splitlines() if ln.startswith("error:")]
    assert "cannot upload the export to container no-such-container" in line and "STORAGE_CONNECTION_STRING" in line
    assert "SECRETSIG" not in output and "sig=" not in output


async def test_a_drop_nobody_picks_up_times_out_with_exit_4_and_says_where_to_look(deployment: Deployment):
    # Given a deployment whose Event Grid never delivers (nothing runs the triggers here)
    proc = subprocess.run(
        [sys.executable, "-m", "cli", "submit", str(SAMPLE), "--source", "jsonl", "--azure", "--timeout", "2",
         "--poll", "0.5"],
        cwd=ROOT, env=operator_env(deployment.env), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    # Then submit stops after its timeout with exit 4, pointing at the subscription and the poison reasons
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "the Functions app has not picked up the drop" in proc.stdout
    assert "runs/_poison/export-drops/" in proc.stdout
    names = [b.name async for b in deployment.container.list_blobs(name_starts_with="exports/jsonl/")]
    assert len(names) == 1, "the export was not uploaded exactly once"
