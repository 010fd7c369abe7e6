"""The sync creates a user only once the user's wave was migrated (and not rolled back)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from shared.adapters.local.ledger import SqliteLedger
from shared.outcomes import RunState
from shared.records import LegacyUser
from shared.sync.wave_gate import awaiting_wave
from shared.waves import WavePlan, percent_waves

NOW = datetime(2026, 12, 2, 12, tzinfo=UTC)


def user(legacy_id: str) -> LegacyUser:
    return LegacyUser(legacy_id=legacy_id, email=f"{legacy_id}@example.com")


async def test_a_user_waits_for_a_wave_not_run_and_for_a_wave_rolled_back(tmp_path: Path) -> None:
    ledger = SqliteLedger(tmp_path / "m.db")
    someone = user("u-1")
    assert await awaiting_wave(ledger, "jsonl", someone) is None  # no wave plan: nothing waits
    plan = WavePlan(kind="percent", waves=percent_waves([50, 100]), planned_at=NOW)
    await ledger.save_wave_plan(plan)
    wave = plan.wave_of(someone)
    assert wave in (1, 2)
    assert await awaiting_wave(ledger, "jsonl", someone) == wave

    other = 2 if wave == 1 else 1
    await ledger.save_run(RunState(run_id="other", source="jsonl", export_ref="x", started_at=NOW, finished_at=NOW,
                                   wave=other))  # fmt: skip
    await ledger.save_run(RunState(run_id="unfinished", source="jsonl", export_ref="x", started_at=NOW, wave=wave))
    await ledger.save_run(RunState(run_id="elsewhere", source="auth0", export_ref="x", started_at=NOW,
                                   finished_at=NOW, wave=wave))  # fmt: skip
    await ledger.save_run(RunState(run_id="sync-jsonl", source="jsonl", export_ref="sync:jsonl", started_at=NOW,
                                   finished_at=NOW))  # the sync's own run opens nothing  # fmt: skip
    assert await awaiting_wave(ledger, "jsonl", someone) == wave

    mine = RunState(run_id="mine", source="jsonl", export_ref="x", started_at=NOW, finished_at=NOW, wave=wave)
    await ledger.save_run(mine)
    assert await awaiting_wave(ledger, "jsonl", someone) is None
    await ledger.save_run(mine.model_copy(update={"rolled_back_at": NOW}))
    assert await awaiting_wave(ledger, "jsonl", someone) == wave

    await ledger.save_run(RunState(run_id="all", source="jsonl", export_ref="x", started_at=NOW, finished_at=NOW))
    assert await awaiting_wave(ledger, "jsonl", someone) is None  # a run of the whole export opens every wave
    ledger.close()
