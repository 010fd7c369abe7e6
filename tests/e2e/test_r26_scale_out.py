"""R26: N worker processes (N = 1, 2, 4), each building the import's Graph directory as a Functions instance
does, drain one import-chunks queue (bench/scale_out.py) against one emulator (its write quota enforced per
app id). With the shared quota (SQLite, or a Table in Azurite) the per-app budget holds across the processes:
429s < 1 % of writes, every user created once. Without it
(each process pacing alone), the same drill ends in 429s: the check can fail."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from bench.scale_out import cell

# The per-app quota is 3,000 writes per 7.5 s at this time scale: more users than one window holds.
USERS, TIME_SCALE, LATENCY_MS = 4000, 20.0, 120.0


def drill(workers: int, shared: bool, tmp_path: Path, store: str = "sqlite") -> dict[str, Any]:
    args = argparse.Namespace(users=USERS, time_scale=TIME_SCALE, latency_ms=LATENCY_MS, store=store)
    return cell(workers, shared, args, tmp_path)


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_shared_quota_holds_across_worker_processes(workers: int, tmp_path: Path) -> None:
    result = drill(workers, True, tmp_path)
    assert result["created"] == USERS and result["failed"] == 0 and result["unfinished"] == 0, result
    assert result["duplicates"] == 0, result
    assert result["share_429"] < 0.01, result


@pytest.mark.azurite
def test_the_table_storage_quota_holds_across_worker_processes(tmp_path: Path) -> None:
    """The form every Functions instance shares in Azure: the buckets in a Table (Azurite), four workers."""
    result = drill(4, True, tmp_path, store="table")
    assert result["created"] == USERS and result["failed"] == 0 and result["unfinished"] == 0, result
    assert result["duplicates"] == 0, result
    assert result["share_429"] < 0.01, result


def test_without_the_shared_quota_four_processes_overrun_it(tmp_path: Path) -> None:
    result = drill(4, False, tmp_path)
    assert result["throttled_429"] > 0.01 * result["writes"], result
