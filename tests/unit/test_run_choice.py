"""Which run an export drives (cli.runs): the same export resumes, another export's unfinished run is refused."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from cli.runs import OtherRunUnfinished, RunChoice, UnknownRun, choose_run, export_fingerprint, run_word
from shared.outcomes import RunState

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def run(run_id: str, **fields: object) -> RunState:
    return RunState.model_validate({"run_id": run_id, "source": "jsonl", "export_ref": "old.jsonl",
                                    "started_at": NOW, **fields})  # fmt: skip


def test_the_same_export_resumes_its_unfinished_run(tmp_path: Path) -> None:
    export = tmp_path / "users.jsonl"
    export.write_text("{}\n")
    mine = f"jsonl-{export_fingerprint('jsonl', export)}-01"
    assert choose_run("jsonl", export, [run(mine)]).resuming


def test_a_changed_export_is_refused_while_another_run_is_unfinished_naming_both_choices(tmp_path: Path) -> None:
    export = tmp_path / "users.jsonl"
    export.write_text("{}\n")
    with pytest.raises(OtherRunUnfinished, match=r"--resume jsonl-old-01.*--abandon jsonl-old-01"):
        choose_run("jsonl", export, [run("jsonl-old-01")])


def test_finished_failed_and_abandoned_runs_block_nothing(tmp_path: Path) -> None:
    export = tmp_path / "users.jsonl"
    export.write_text("{}\n")
    others = [run("a", finished_at=NOW), run("b", error="unreadable"), run("c", abandoned_at=NOW)]
    choice = choose_run("jsonl", export, others)
    assert not choice.resuming and choice.run_id.endswith("-01")
    assert [run_word(r) for r in others] == ["finished", "failed: unreadable", "abandoned"]


def test_resume_names_an_unfinished_run_and_plans_from_its_export(tmp_path: Path) -> None:
    export = tmp_path / "users.jsonl"
    export.write_text("{}\n")
    choice = choose_run("jsonl", export, [run("jsonl-old-01")], resume="jsonl-old-01")
    assert (choice.run_id, choice.resuming, choice.export_ref) == ("jsonl-old-01", True, "old.jsonl")
    with pytest.raises(UnknownRun, match="no run nope"):
        choose_run("jsonl", export, [], resume="nope")


def test_waves_of_one_export_have_their_own_runs_and_block_each_other_while_unfinished(tmp_path: Path) -> None:
    export = tmp_path / "users.jsonl"
    export.write_text("{}\n")
    prefix = f"jsonl-{export_fingerprint('jsonl', export)}-"
    whole = run(f"{prefix}01", finished_at=NOW)
    wave1 = run(f"{prefix}w1-01", wave=1)
    # wave 1 resumes its own run; wave 2 may not start while wave 1's is unfinished
    assert choose_run("jsonl", export, [whole, wave1], wave=1) == RunChoice(wave1.run_id, True)
    with pytest.raises(OtherRunUnfinished, match=r"a different export or wave \(wave 1\).*--abandon"):
        choose_run("jsonl", export, [whole, wave1], wave=2)
    # once it finished, wave 2 starts its first run and wave 1 again would start its second
    done = wave1.model_copy(update={"finished_at": NOW})
    assert choose_run("jsonl", export, [whole, done], wave=2).run_id == f"{prefix}w2-01"
    assert choose_run("jsonl", export, [whole, done], wave=1).run_id == f"{prefix}w1-02"
    assert choose_run("jsonl", export, [whole, done]).run_id == f"{prefix}02"  # a whole-export run ignores waves
