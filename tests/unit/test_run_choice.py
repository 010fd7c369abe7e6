"""Which run an export drives (cli.runs): the same export resumes, another export's unfinished run is refused."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from cli.runs import OtherRunUnfinished, UnknownRun, choose_run, export_fingerprint, run_word
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
