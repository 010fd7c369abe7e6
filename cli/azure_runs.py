"""The deployed migration's storage as the operator's CLI sees it: drop an export, read runs from the Table ledger.

Storage comes from Settings: STORAGE_CONNECTION_STRING (Azurite, keys, SAS), else STORAGE_ACCOUNT_URL and
TABLES_ACCOUNT_URL with DefaultAzureCredential (`az login`); BLOB_CONTAINER, EXPORT_DROPS_PREFIX, LEDGER_TABLE.
`AzureRuns.drop` uploads an export to `<prefix><source>/<UTC time>/<file>` and returns the run the drop starts
(shared/event_grid.py's id, from the upload's eTag). Errors: `AzureStorageError`, one line naming the setting or
the role to check; it quotes no connection string, key or SAS (URLs shown to the user are cut at the query).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from azure.core.exceptions import AzureError, HttpResponseError
from azure.storage.blob import ContentSettings
from azure.storage.blob.aio import ContainerClient

from cli.runs import run_word
from cli.status_view import RunView, counts_line, progress_line
from shared.adapters.blobs import container_client
from shared.adapters.tables import TableLedger
from shared.bootstrap import table_ledger
from shared.config import Settings
from shared.errors import Permanent
from shared.event_grid import drop_run_id
from shared.outcomes import RunState

_CONTENT_TYPES = {".json": "application/json", ".jsonl": "application/x-ndjson", ".ndjson": "application/x-ndjson",
                  ".csv": "text/csv", ".gz": "application/gzip"}  # fmt: skip


class AzureStorageError(Permanent):
    """The storage account could not be used. str() is one line naming what to check; no secret in it."""


def without_query(url: str) -> str:
    """A URL safe to print: a SAS token lives in the query."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def storage_problem(exc: BaseException, doing: str) -> AzureStorageError:
    # The SDK's own text can quote the request URL (a SAS) or a header: name the type and status only.
    status = getattr(exc, "status_code", None) if isinstance(exc, HttpResponseError) else None
    code = getattr(exc, "error_code", None) if isinstance(exc, HttpResponseError) else None
    detail = type(exc).__name__ + (f" {status}" if status else "") + (f" {code}" if code else "")
    return AzureStorageError(
        f"cannot {doing} ({detail}): check STORAGE_CONNECTION_STRING, or STORAGE_ACCOUNT_URL/TABLES_ACCOUNT_URL and "
        "that you (`az login`) hold Storage Blob Data Contributor and Storage Table Data Reader on the account"
    )


@dataclass(frozen=True)
class Drop:
    run_id: str
    blob_name: str
    size: int
    url: str  # without its query


class AzureRuns:
    """The export container and the Table ledger of one deployment. Use as `async with AzureRuns(settings)`."""

    def __init__(self, settings: Settings) -> None:
        connection = (
            settings.STORAGE_CONNECTION_STRING.get_secret_value() if settings.STORAGE_CONNECTION_STRING else None
        )
        if not connection and not (settings.STORAGE_ACCOUNT_URL and settings.TABLES_ACCOUNT_URL):
            raise AzureStorageError(
                "no storage account: set STORAGE_ACCOUNT_URL and TABLES_ACCOUNT_URL (`azd env get-values` prints "
                "them) or STORAGE_CONNECTION_STRING"
            )
        self.settings = settings
        self.container: ContainerClient = container_client(
            settings.BLOB_CONTAINER, connection_string=connection, account_url=settings.STORAGE_ACCOUNT_URL
        )
        ledger = table_ledger(settings)
        if ledger is None:  # unreachable: checked above
            raise AzureStorageError("set STORAGE_CONNECTION_STRING or TABLES_ACCOUNT_URL for the ledger")
        self.ledger: TableLedger = ledger

    async def __aenter__(self) -> AzureRuns:
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.container.close()
        await self.ledger.close()

    def blob_name_for(self, export: Path, source: str, now: datetime) -> str:
        return f"{self.settings.EXPORT_DROPS_PREFIX}{source}/{now.astimezone(UTC):%Y%m%dT%H%M%SZ}/{export.name}"

    async def drop(self, export: Path, source: str, now: datetime | None = None) -> Drop:
        """Upload `export` as a drop (never over another blob) and return the run its BlobCreated event starts."""
        name = self.blob_name_for(export, source, now or datetime.now(UTC))
        size = (await asyncio.to_thread(export.stat)).st_size
        blob = self.container.get_blob_client(name)
        content = ContentSettings(content_type=_CONTENT_TYPES.get(export.suffix, "application/octet-stream"))
        try:
            with export.open("rb") as data:
                result: dict[str, Any] = await blob.upload_blob(
                    data, length=size, overwrite=False, content_settings=content, max_concurrency=4
                )
        except AzureError as exc:
            raise storage_problem(exc, f"upload the export to container {self.settings.BLOB_CONTAINER}") from None
        run_id = drop_run_id(self.settings.BLOB_CONTAINER, name, str(result["etag"]))
        return Drop(run_id, name, size, without_query(blob.url))

    async def run(self, run_id: str) -> RunState | None:
        try:
            return await self.ledger.get_run(run_id)
        except AzureError as exc:
            raise storage_problem(exc, f"read the ledger table {self.settings.LEDGER_TABLE}") from None

    async def runs(self) -> list[RunState]:
        try:
            return await self.ledger.list_runs()
        except AzureError as exc:
            raise storage_problem(exc, f"read the ledger table {self.settings.LEDGER_TABLE}") from None

    def report_url(self, run_id: str) -> str:
        return without_query(self.container.get_blob_client(f"runs/{run_id}/report.json").url)


def azure_view(run: RunState, report_url: str) -> RunView:
    """How `status --azure` words a run of the deployed app (no state directory: the report is a blob)."""
    state = run_word(run)
    if run.finished_at is not None:
        next_step = "nothing to import: id-map.csv beside the report maps legacyId → objectId"
        if run.failed:
            next_step = "read failures.jsonl beside the report for each failed user's cause, fix it, submit again"
    elif run.error:
        next_step = "fix the cause above (`ciam-migrate doctor` checks the tenant and credentials), then submit again"
    else:
        next_step = f"`ciam-migrate status --azure {run.run_id}` again later; the Functions app drives the run"
    return RunView(
        run_id=run.run_id, state=state, progress=progress_line(run), counts=counts_line(run),
        report=report_url if run.finished_at is not None else None, next_step=next_step,
    )  # fmt: skip
