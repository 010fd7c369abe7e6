"""waves plan / list and the options of run --wave and rollback: counts printed, plan stored, mistakes refused
with one line (exit 2) before anything is written."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from shared.adapters.local.ledger import SqliteLedger
from shared.outcomes import RunState
from tests.conftest import SAMPLE

NOW = datetime(2026, 12, 2, tzinfo=UTC)


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def plan_tiers(state: Path, *extra: str) -> tuple[int, str]:
    return invoke("waves", "plan", "--export", str(SAMPLE), "--source", "jsonl", "--state", str(state),
                  "--by", "attributes.loyaltyTier", *extra)  # fmt: skip


def save_run(state: Path, run: RunState) -> None:
    ledger = SqliteLedger(state / "migration.db")
    try:
        asyncio.run(ledger.save_run(run))
    finally:
        ledger.close()


def test_plan_by_a_field_prints_and_stores_one_wave_per_value(tmp_path: Path) -> None:
    state = tmp_path / "state"
    code, out = plan_tiers(state, "--cutover", "1=shop,blog")
    assert code == 0, out
    tiers = [json.loads(line).get("attributes", {}).get("loyaltyTier") for line in SAMPLE.read_text().splitlines()
             if line.strip().startswith("{") and '"legacyId"' in line]  # fmt: skip
    code, listed = invoke("waves", "list", "--state", str(state), "--json")
    plan = json.loads(listed)
    assert [w["label"] for w in plan["waves"]] == ["bronze", "gold", "silver", "(no value)"]
    assert plan["waves"][0]["apps"] == ["shop", "blog"]
    counts = {w["label"]: w["planned_count"] for w in plan["waves"]}
    assert all(counts[t] == tiers.count(t) for t in ("bronze", "gold", "silver"))
    assert counts["(no value)"] <= tiers.count(None)  # a record the reader cannot read is in no count
    assert "gold" in out and f"{counts['gold']}" in out


def test_replanning_after_a_wave_ran_needs_replace(tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert plan_tiers(state)[0] == 0
    save_run(state, RunState(run_id="jsonl-x-w1-01", source="jsonl", export_ref="x", started_at=NOW, wave=1,
                             finished_at=NOW))  # fmt: skip
    code, out = invoke("waves", "plan", "--export", str(SAMPLE), "--source", "jsonl", "--state", str(state),
                       "--percent", "50,100")  # fmt: skip
    assert code == 2 and "--replace" in out
    assert json.loads(invoke("waves", "list", "--state", str(state), "--json")[1])["kind"] == "field"
    code, out = invoke("waves", "plan", "--export", str(SAMPLE), "--source", "jsonl", "--state", str(state),
                       "--percent", "50,100", "--replace")  # fmt: skip
    assert code == 0, out
    listed = json.loads(invoke("waves", "list", "--state", str(state), "--json")[1])
    assert listed["kind"] == "percent" and listed["runs"] == [{"run_id": "jsonl-x-w1-01", "wave": 1,
                                                                "state": "finished"}]  # fmt: skip


def test_bad_rules_are_refused_and_nothing_is_stored(tmp_path: Path) -> None:
    state = tmp_path / "state"
    for args, says in (
        (["--percent", "50,20"], "cumulative"),
        (["--by", "password"], "secrets"),
        (["--by", "attributes.region", "--percent", "5,100"], "exactly one"),
        (["--apps", "shop", "--cutover", "7=blog"], "waves 1 to 1"),
    ):
        code, out = invoke("waves", "plan", "--export", str(SAMPLE), "--source", "jsonl", "--state", str(state), *args)
        assert code == 2 and says in out, (args, out)
    assert invoke("waves", "list", "--state", str(state))[0] == 2


def test_run_wave_needs_a_plan_holding_that_wave(tmp_path: Path) -> None:
    state = tmp_path / "state"
    code, out = invoke("run", str(SAMPLE), "--source", "jsonl", "--state", str(state), "--wave", "1")
    assert code == 2 and "waves plan" in out
    assert plan_tiers(state)[0] == 0
    code, out = invoke("run", str(SAMPLE), "--source", "jsonl", "--state", str(state), "--wave", "9")
    assert code == 2 and "waves 1 to 4" in out


def test_rollback_options_and_unfinished_runs_are_refused(tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert plan_tiers(state)[0] == 0
    save_run(state, RunState(run_id="jsonl-x-w2-01", source="jsonl", export_ref="x", started_at=NOW, wave=2))
    assert "exactly one" in invoke("rollback", "--state", str(state))[1]
    code, out = invoke("rollback", "--state", str(state), "--wave", "2", "--dry-run")
    assert code == 2 and "unfinished" in out and "--abandon" in out
    code, out = invoke("rollback", "--state", str(state), "--wave", "3", "--dry-run")
    assert code == 2 and "no run of wave 3" in out
    code, out = invoke("rollback", "--state", str(tmp_path / "none"), "--run", "r")
    assert code == 2 and "no migration state" in out
