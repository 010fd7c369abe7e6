"""plan_export with `wave` over fake ports: the wave plan the ledger holds decides which users are chunked."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.handlers.plan_export import plan_export
from shared.messages import ExportPlanned, ImportChunk, PlanExport
from shared.waves import Wave, WavePlan, WaveRuleError
from tests.fakes import FakeExportStore, FakePorts
from tests.handlers.conftest import WORKFLOW

NOW = datetime(2026, 12, 2, tzinfo=UTC)
BY_REGION = WavePlan(kind="field", field="attributes.region", planned_at=NOW, waves=[
    Wave(number=1, label="eu", values=["eu"]), Wave(number=2, label="us", values=["us"])])  # fmt: skip


def _export(tmp_path: Path) -> FakePorts:
    export = tmp_path / "users.jsonl"
    rows = [{"legacyId": f"u{i}", "email": f"u{i}@example.com", "attributes": {"region": "eu" if i % 3 else "us"}}
            for i in range(9)]  # fmt: skip
    export.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return FakePorts(exports=FakeExportStore({"users.jsonl": export}))


async def _chunked(fake: FakePorts, run_id: str) -> set[str]:
    return {e.user.legacy_id for (run, _), entries in fake.chunks.chunks.items() if run == run_id for e in entries}


async def test_wave_two_plans_only_the_users_the_stored_wave_plan_places_there(tmp_path: Path) -> None:
    fake = _export(tmp_path)
    await fake.ledger.save_wave_plan(BY_REGION)  # what `waves plan` stores

    out = await plan_export(PlanExport(run_id="w2", source="jsonl", export_ref="users.jsonl", wave=2),
                            fake.ports, WORKFLOW)  # fmt: skip

    planned = next(e.payload for e in out if isinstance(e.payload, ExportPlanned))
    assert sum(isinstance(e.payload, ImportChunk) for e in out) == planned.chunks == 1
    assert await _chunked(fake, "w2") == {"u0", "u3", "u6"}  # region us
    run = await fake.ledger.get_run("w2")
    assert run is not None and run.wave == 2


async def test_a_wave_without_a_stored_plan_is_refused_before_anything_is_chunked(tmp_path: Path) -> None:
    fake = _export(tmp_path)
    with pytest.raises(WaveRuleError, match="holds no wave plan"):
        await plan_export(PlanExport(run_id="w1", source="jsonl", export_ref="users.jsonl", wave=1),
                          fake.ports, WORKFLOW)  # fmt: skip
    assert not fake.chunks.chunks
