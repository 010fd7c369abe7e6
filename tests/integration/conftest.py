"""Azurite (Microsoft's Blob/Queue/Table emulator) for the Azure adapter tests, on 127.0.0.1 only.

One in-memory Azurite per test session, on free ports; tests get its connection string and create
their own uniquely named containers/tables. A missing Azurite fails the tests: they must not pass
silently on a machine that never ran them (`make pytest` installs it with npm).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from azure.data.tables.aio import TableClient
from azure.storage.blob.aio import ContainerClient

REPO = Path(__file__).resolve().parents[2]
AZURITE = REPO / "node_modules" / ".bin" / "azurite"
HOST = "127.0.0.1"
# The well-known development-storage key: published by Microsoft, only ever valid against an emulator.
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
STARTUP_TIMEOUT_S = 30.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def _answers(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def azurite_connection_string(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not AZURITE.exists() or shutil.which("node") is None:
        pytest.fail(
            f"Azurite not found at {AZURITE} (or node missing): run `npm install --no-audit --no-fund azurite@3` "
            "in the repo root, or `make pytest`, which installs it",
            pytrace=False,
        )
    blob, queue, table = _free_port(), _free_port(), _free_port()
    workdir = tmp_path_factory.mktemp("azurite")
    log = (workdir / "azurite.log").open("w+")
    proc = subprocess.Popen(
        [
            str(AZURITE),
            *("--blobHost", HOST, "--blobPort", str(blob)),
            *("--queueHost", HOST, "--queuePort", str(queue)),
            *("--tableHost", HOST, "--tablePort", str(table)),
            "--inMemoryPersistence",
            "--skipApiVersionCheck",
            "--loose",
            "--silent",
            "--disableTelemetry",  # Azurite phones home to Application Insights by default
        ],
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not (_answers(blob) and _answers(table)):
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(f"Azurite did not start on {HOST}:{blob}/{table}: {log.read()[-2000:]}", pytrace=False)
            time.sleep(0.1)
        yield (
            f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
            f"BlobEndpoint=http://{HOST}:{blob}/{DEV_ACCOUNT};"
            f"QueueEndpoint=http://{HOST}:{queue}/{DEV_ACCOUNT};"
            f"TableEndpoint=http://{HOST}:{table}/{DEV_ACCOUNT};"
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
async def container(azurite_connection_string: str) -> AsyncIterator[ContainerClient]:
    """A fresh, empty blob container for one test."""
    client = ContainerClient.from_connection_string(azurite_connection_string, f"t{uuid.uuid4().hex}")
    await client.create_container()
    try:
        yield client
    finally:
        await client.delete_container()
        await client.close()


@pytest.fixture
async def table(azurite_connection_string: str) -> AsyncIterator[TableClient]:
    """A fresh, empty table for one test."""
    client = TableClient.from_connection_string(azurite_connection_string, f"t{uuid.uuid4().hex}")
    await client.create_table()
    try:
        yield client
    finally:
        await client.delete_table()
        await client.close()
