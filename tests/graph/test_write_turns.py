"""Chunks take turns on the write budget: a second create_users call's batches queue behind the first one's
instead of interleaving with them, so the first chunk's writes finish (and its ledger and vault work starts)
while the next chunk is still writing — the budget never idles at a chunk boundary."""

from __future__ import annotations

import asyncio

from shared.adapters.graph.budget import ThrottleBudget
from shared.adapters.graph.client import make_graph_client
from shared.adapters.graph.directory import AppLane, GraphDirectory
from tests.conftest import emulator_stats
from tests.graph.test_one_retry_layer import APP, TENANT, batch_emails, target
from tests.graph.wire import RecordingTransport

BATCHES = 10  # per call: more than a lane's 4 workers, so without turns the two calls would alternate


async def test_a_second_chunk_writes_after_the_first_has_all_its_budget_not_interleaved(start_emulator) -> None:
    # Given one lane whose budget admits a batch about every 0.1 s, and two chunks of 10 batches each
    emulator = start_emulator(time_scale=20, tenant=TENANT)
    wire = RecordingTransport()
    lane = AppLane(APP, make_graph_client(emulator.base_url, APP, transport=wire),
                   ThrottleBudget(500, 2.5, burst=20), concurrency=4)  # fmt: skip
    directory = GraphDirectory([lane], ThrottleBudget(18000, 15.0))
    first = [target(n) for n in range(BATCHES * 20)]
    second = [target(n) for n in range(BATCHES * 20, BATCHES * 40)]
    try:
        # When both are created concurrently, the second call starting while the first is writing
        one = asyncio.create_task(directory.create_users(first))
        await asyncio.sleep(0)
        results = await asyncio.gather(one, directory.create_users(second))
    finally:
        await directory.close()
    # Then every user is created once
    assert all(r.status == "created" for rs in results for r in rs)
    assert emulator_stats(emulator)["users"] == BATCHES * 40
    # And the second chunk's first batch left only after the first chunk's batches had their budget
    # (its last batch may be on the wire a moment after, never more than one)
    firsts = {u.mail for u in first}
    order = ["first" if batch_emails(c)[0] in firsts else "second" for c in wire.calls if c.path.endswith("/$batch")]
    assert order.index("second") >= BATCHES - 1, order
    assert order[BATCHES + 1 :].count("first") == 0, order
