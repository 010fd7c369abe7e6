"""An import and a sync share the write quota as designed: together never over it, each keeps its part.

The import's budget is the whole pool, capped at (1 − SYNC_WRITE_SHARE) while a sync runs; the sync draws its
share plus the same pool (never the import's cap). Presence is a flock the sync holds, gone when it dies."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from shared.adapters.graph.budget import ThrottleBudget
from shared.adapters.graph.lanes import SyncSharing, build_directory
from shared.adapters.graph.sharing import SyncAwareBudget, pool_of
from shared.config import Settings
from shared.sync.presence import holding_presence, sync_running
from tests.unit.test_throttle_budget import FakeClock, max_in_any_window

QUOTA, WINDOW, SHARE = 3000, 150.0, 0.5


def budgets(clock: FakeClock, running: list[bool]) -> tuple[SyncAwareBudget, ThrottleBudget]:
    def make(limit: int) -> ThrottleBudget:
        return ThrottleBudget(limit, WINDOW, clock=clock, sleep=clock.sleep)

    pool = make(QUOTA)
    imports = SyncAwareBudget(pool, make(int(QUOTA * (1 - SHARE))), lambda: running[0], recheck_s=0, clock=clock)
    return imports, make(int(QUOTA * SHARE))


async def test_with_a_sync_running_the_two_together_stay_under_the_quota_and_each_gets_its_part():
    clock = FakeClock()
    imports, share = budgets(clock, [True])
    sent: dict[str, list[tuple[float, int]]] = {"import": [], "sync": []}
    for _ in range(150):  # both saturate: the import in batches of 20, the sync one write at a time
        await imports.acquire(20)
        sent["import"].append((clock.t, 20))
        for _ in range(20):
            await share.acquire(1)
            await pool_of(imports).acquire(1)
            sent["sync"].append((clock.t, 1))
    both = sorted(sent["import"] + sent["sync"])
    assert max_in_any_window(both, WINDOW) <= QUOTA * 0.98
    for who, part in (("import", 1 - SHARE), ("sync", SHARE)):
        rate = sum(n for _, n in sent[who]) / clock.t
        assert rate >= 0.9 * part * QUOTA / WINDOW, (who, rate)


async def test_without_a_sync_the_import_has_the_whole_quota_and_a_late_sync_is_noticed():
    clock = FakeClock()
    running = [False]
    changes: list[bool] = []
    imports, _ = budgets(clock, running)
    imports.on_change = changes.append
    start = clock.t
    for _ in range(300):
        await imports.acquire(20)
    assert 6000 / (clock.t - start) >= 0.95 * QUOTA / WINDOW  # the whole quota
    running[0] = True
    start = clock.t
    for _ in range(300):
        await imports.acquire(20)
    assert 6000 / (clock.t - start) <= (1 - SHARE) * QUOTA / WINDOW * 1.05  # leaves the sync its share
    assert changes == [True]


def test_every_import_lane_and_the_tenant_budget_leave_the_share(tmp_path: Path):
    settings = Settings(STATE_DIR=str(tmp_path), GRAPH_URL="http://127.0.0.1:9", APP_IDS=["a", "b"],
                        SYNC_WRITE_SHARE=0.3)  # fmt: skip
    directory = build_directory(settings, None, SyncSharing(lambda: True))
    for budget in [lane.budget for lane in directory.lanes] + [directory.tenant_budget]:
        assert isinstance(budget, SyncAwareBudget) and budget.sync_running()
        assert isinstance(budget.pool, ThrottleBudget) and isinstance(budget.cap, ThrottleBudget)
        assert abs(budget.cap.rate / budget.pool.rate - 0.7) < 0.02
    assert not isinstance(build_directory(settings).tenant_budget, SyncAwareBudget)


def test_a_running_sync_is_seen_and_a_killed_one_is_not(tmp_path: Path):
    assert not sync_running(tmp_path)
    with holding_presence(tmp_path):
        assert sync_running(tmp_path)
    assert not sync_running(tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from shared.sync.presence import holding_presence\n"
         "with holding_presence(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(60)", str(tmp_path)],
        stdout=subprocess.PIPE, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"
        assert sync_running(tmp_path)
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        deadline = time.monotonic() + 5
        while sync_running(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not sync_running(tmp_path)  # kill -9: the kernel dropped the lock, no stale "running"
    finally:
        holder.kill()
