"""Given-helpers for handler tests: a planned run and its chunk in fake ports, users that map cleanly."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from shared.config import Settings
from shared.handlers.workflow import Workflow
from shared.mapping import MappingOptions
from shared.messages import ImportChunk
from shared.outcomes import RunState
from shared.ports import ChunkEntry
from shared.records import LegacyUser
from tests.fakes import FakePorts

RUN = "jsonl-abc-01"
WORKFLOW = Workflow.from_settings(Settings(MAX_ATTEMPTS=4, EXTENSIONS_APP_ID="0" * 32), apps=1)
MAPPING = MappingOptions(tenant="contoso.onmicrosoft.com", extensions_app_id="0" * 32)
BCRYPT = {"algorithm": "bcrypt", "value": "$2b$04$" + "a" * 53}


def user(legacy_id: str, **fields: Any) -> LegacyUser:
    """A user that maps cleanly: email sign-in and, by default, a bcrypt hash (JIT path)."""
    data: dict[str, Any] = {"legacyId": legacy_id, "email": f"{legacy_id}@example.com", "password": {"hash": BCRYPT}}
    data.update(fields)
    return LegacyUser.model_validate(data)


async def given_chunk(
    fake: FakePorts, users: list[LegacyUser], chunk_id: str = "c0000", run_id: str = RUN
) -> ImportChunk:
    """A planned run holding one chunk of these users; returns the ImportChunk that names it."""
    if run_id not in fake.ledger.runs:
        await fake.ledger.save_run(
            RunState(
                run_id=run_id, source="jsonl", export_ref="users.jsonl", started_at=datetime(2026, 12, 1, tzinfo=UTC),
                planned_at=datetime(2026, 12, 1, tzinfo=UTC), mapping=MAPPING,
            )
        )  # fmt: skip
    await fake.chunks.put(run_id, chunk_id, [ChunkEntry(line=i + 1, user=u) for i, u in enumerate(users)])
    return ImportChunk(run_id=run_id, source="jsonl", chunk_id=chunk_id)


@pytest.fixture
def fake() -> FakePorts:
    return FakePorts()
