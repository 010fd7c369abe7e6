"""The shared write quota at its port: several SharedBudgets on one bucket never exceed it; leases expire;
quota a late drawer did not take is still there (the grant log), and leases come in whole batches."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from shared.adapters.graph.quota_lease import (
    BucketRow,
    BucketTerms,
    SharedBudget,
    blocked,
    bucket_terms,
    decode_grants,
    draw,
    encode_grants,
)
from shared.adapters.local.quota import SqliteQuotaStore


class FakeClock:
    def __init__(self) -> None:
        self.t = 1_000.0

    def __call__(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds
        await asyncio.sleep(0)  # let other tasks run (and queue) as a real sleep would


class MemoryQuotaStore:
    """The QuotaStore contract over one dict, with the same draw/blocked rules as the real stores."""

    def __init__(self, clock: FakeClock) -> None:
        self.rows: dict[str, BucketRow] = {}
        self.clock = clock
        self.draws = 0

    async def draw(self, key: str, terms: BucketTerms, need: int, want: int, step: int = 1) -> tuple[int, float, float]:
        self.draws += 1
        await asyncio.sleep(0)  # a round-trip: other batches queue meanwhile
        row, granted, wait = draw(self.rows.get(key), terms, need, want, self.clock(), step)
        self.rows[key] = row
        return granted, wait, self.clock()

    async def block(self, key: str, terms: BucketTerms, seconds: float) -> None:
        self.rows[key] = blocked(self.rows.get(key), terms, seconds, self.clock())


def max_in_any_window(sent: list[tuple[float, int]], window: float) -> int:
    return max(sum(n for t2, n in sent if t1 <= t2 < t1 + window) for t1, _ in sent)


def budgets(store: MemoryQuotaStore, clock: FakeClock, n: int, **kw: float) -> list[SharedBudget]:
    return [
        SharedBudget(store, "tenant|app|a", 3000, 150.0, clock=clock, sleep=clock.sleep, **kw)  # type: ignore[arg-type]
        for _ in range(n)
    ]


def test_terms_keep_the_log_under_the_quota_and_pace_faster_than_it():
    terms = bucket_terms(3000, 150.0, headroom=0.98, burst=40, lease_s=2.0)
    assert terms.allowed == 3000 * 0.98 and terms.span_s == 152.0  # any window + lease holds at most this
    assert terms.capacity + terms.rate * terms.span_s <= terms.allowed  # the planned rate is safe on its own
    assert terms.capacity == 40 and terms.pace_rate > terms.allowed / terms.span_s  # pacing never the limit


def test_draw_grants_whole_steps_between_need_and_want_or_says_how_long_to_wait():
    terms = BucketTerms(capacity=40, rate=10.0, lease_s=1.0)
    row, granted, wait = draw(None, terms, 20, 40, now=0.0)
    assert (granted, wait, row.tokens) == (40, 0.0, 0.0)
    row, granted, wait = draw(row, terms, 20, 40, now=1.0)  # 10 tokens back: not enough for 20
    assert granted == 0 and abs(wait - 1.0) < 1e-9  # come back at half the bucket (20), not when it is full
    _, granted, _ = draw(row, terms, 20, 40, now=2.5, step=20)  # 25 back; in whole batches: 20, no remainder of 5
    assert granted == 20
    row, granted, _ = draw(row, terms, 20, 40, now=2.5)  # 25 back
    assert granted == 25
    _, granted, _ = draw(row, terms, 1, 40, now=0.5)  # a clock behind the row's never refills backwards
    assert granted == 0


def test_the_log_refuses_past_the_quota_until_its_oldest_grants_leave_it():
    terms = BucketTerms(capacity=100, rate=1000.0, lease_s=0.5, allowed=100, span_s=10.5)
    row, granted, _ = draw(None, terms, 60, 60, now=0.0)
    row, granted2, _ = draw(row, terms, 40, 40, now=1.0)
    assert granted == 60 and granted2 == 40 and row.granted == 100
    row, granted, wait = draw(row, terms, 20, 20, now=5.0)  # pacing bucket full again, but the log is full
    assert granted == 0 and abs(wait - 5.5) < 1e-9  # until the grant of t=0 leaves at 0 + 10.5
    row, granted, _ = draw(row, terms, 20, 60, now=10.6)
    assert granted == 60 and row.granted == 100  # the 60 of t=0 are out, the 40 of t=1 still in


def test_the_log_round_trips_through_its_stored_text_never_earlier():
    grants = ((1000.1234, 40), (1000.5, 20))
    back = decode_grants(encode_grants(grants))
    assert [n for _, n in back] == [40, 20]
    assert all(b >= a for (a, _), (b, _) in zip(grants, back, strict=True))  # rounded up: leaves late, never early
    assert decode_grants("") == () and decode_grants(None) == ()


def test_a_state_from_before_the_log_is_upgraded_in_place(tmp_path: Path):
    db = tmp_path / "migration.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE quota_buckets (key TEXT PRIMARY KEY, tokens REAL NOT NULL, "
                     "updated REAL NOT NULL, blocked_until REAL NOT NULL)")  # fmt: skip
        conn.execute("INSERT INTO quota_buckets VALUES ('t|app|a', 5.0, 1000.0, 0.0)")
    store = SqliteQuotaStore(db, clock=lambda: 1000.0)
    terms = BucketTerms(capacity=40, rate=10.0, lease_s=1.0, allowed=100, span_s=11.0)
    assert store._draw("t|app|a", terms, 5, 5, 1) == (5, 0.0, 1000.0)  # the old row's tokens are kept
    assert store._draw("t|app|a", terms, 1, 1, 1)[0] == 0
    store.close()


async def test_four_instances_on_one_bucket_never_exceed_any_window():
    clock = FakeClock()
    store = MemoryQuotaStore(clock)
    instances = budgets(store, clock, 4)
    sent: list[tuple[float, int]] = []
    for i in range(4 * 400):  # each takes its turn with a batch of 20 (a serial schedule of four processes)
        await instances[i % 4].acquire(20)
        sent.append((clock.t, 20))
    assert max_in_any_window(sent, 150.0) <= 3000 * 0.98
    elapsed = sent[-1][0] - sent[0][0]
    assert sum(n for _, n in sent) / elapsed > 0.9 * 3000 / 150  # and the quota is still used, not idled


async def test_batches_queued_on_one_instance_share_a_lease():
    """Batches waiting together (BATCH_CONCURRENCY) take one lease between them, not a store round-trip each."""
    clock = FakeClock()
    store = MemoryQuotaStore(clock)
    (budget,) = budgets(store, clock, 1)
    await asyncio.gather(*(budget.acquire(10) for _ in range(4)))
    # the first draws for itself; the other three were queued by then and share the second lease
    assert (store.draws, budget.leases_drawn, budget.held()) == (2, 2, 0)


async def test_independent_budgets_would_each_spend_the_whole_quota():
    """The failure the shared bucket prevents: four buckets, four quotas."""
    clock = FakeClock()
    instances = [
        SharedBudget(MemoryQuotaStore(clock), "k", 3000, 150.0, clock=clock, sleep=clock.sleep) for _ in range(4)
    ]
    sent: list[tuple[float, int]] = []
    for i in range(4 * 400):
        await instances[i % 4].acquire(20)
        sent.append((clock.t, 20))
    assert max_in_any_window(sent, 150.0) > 3000


async def test_a_crashed_holders_unused_lease_expires_and_is_never_spent_late():
    clock = FakeClock()
    store = MemoryQuotaStore(clock)
    crashed, survivor = budgets(store, clock, 2, lease_s=2.0)
    tasks = [asyncio.ensure_future(crashed.acquire(10)) for _ in range(4)]
    await tasks[1]  # the second drew one lease for the three batches then queued (30) and spent 10 ...
    for task in tasks[2:]:
        task.cancel()  # ... and the holder died before the others were sent
    await asyncio.gather(*tasks, return_exceptions=True)
    held = crashed.held()
    assert held >= 10
    clock.t += 2.0
    assert crashed.held() == 0  # expired: those tokens can no longer be sent
    assert crashed.tokens_expired == held and crashed.tokens_drawn >= held + 20  # counted as lost quota
    start = clock.t
    await survivor.acquire(20)  # the bucket refilled meanwhile; the survivor is not starved
    assert clock.t - start < 150.0 / 3000 * 40


async def test_retry_after_on_one_instance_blocks_the_bucket_for_all():
    clock = FakeClock()
    store = MemoryQuotaStore(clock)
    told, other = budgets(store, clock, 2)
    await told.acquire(1)
    told.block_for(5.0)
    await asyncio.sleep(0)  # the shared block is written in the background
    start = clock.t
    await other.acquire(1)
    assert clock.t - start >= 5.0


async def test_quota_a_late_drawer_did_not_take_is_not_lost():
    """Drawers woken late (a busy host) would let a token bucket fill and spill; the log keeps the room for them."""
    clock = FakeClock()
    store = MemoryQuotaStore(clock)
    instances = budgets(store, clock, 4)
    terms = instances[0].terms
    sent: list[tuple[float, int]] = []
    start = clock.t
    for i in range(4 * 400):
        await instances[i % 4].acquire(20)
        sent.append((clock.t, 20))
        if i % 20 == 0:  # now and then every drawer is late: for longer than the pacing bucket takes to fill
            clock.t += 2 * terms.capacity / terms.rate
    elapsed = clock.t - start
    assert max_in_any_window(sent, 150.0) <= 3000 * 0.98
    assert sum(n for _, n in sent) >= 0.97 * terms.allowed * elapsed / terms.span_s  # nothing spilled
