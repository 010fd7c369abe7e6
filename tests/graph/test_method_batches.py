"""MFA method writes on the wire: 20 to a `POST /$batch`, one answer per item, and every answer that may hide a
commit (an item's 504, an envelope's 504 or 424, an item missing from the answer) comes back `ambiguous` — read
back before any re-send — never `refused` or `added` (graph docs concepts/json-batching.md, concepts/throttling.md
"Throttling and batching")."""

from __future__ import annotations

import json

import httpx

from shared.adapters.graph.budget import ThrottleBudget
from shared.adapters.graph.client import make_graph_client
from shared.adapters.graph.directory import AppLane, GraphDirectory
from shared.auth_methods import MethodWrite
from shared.ports import MethodPost
from tests.conftest import emulator_stats
from tests.graph.test_one_retry_layer import APP, TENANT, directory_for, target
from tests.graph.wire import RecordingTransport


def mobile(object_id: str, n: int) -> MethodPost:
    return MethodPost(object_id, MethodWrite("phone:mobile", "phone", "mobile", f"+1 42555{n:05d}"))


async def test_methods_go_20_to_a_batch_and_each_item_gets_its_own_answer(start_emulator) -> None:
    emulator = start_emulator(time_scale=20, tenant=TENANT)
    wire = RecordingTransport()
    directory = directory_for(emulator.base_url, wire)
    try:
        created = await directory.create_users([target(n) for n in range(45)])
        posts = [mobile(str(r.object_id), n) for n, r in enumerate(created)]
        first = await directory.add_methods(posts)
        again = await directory.add_methods(posts[:3])  # the slot is filled now: Graph refuses each item
    finally:
        await directory.close()

    assert [a.status for a in first] == ["added"] * 45
    assert [a.status for a in again] == ["refused"] * 3 and again[0].error_code == "Request_BadRequest"
    method_batches = [
        len(c.body["requests"]) for c in wire.calls
        if c.path.endswith("/$batch") and "authentication" in c.body["requests"][0]["url"]
    ]  # fmt: skip
    assert sorted(method_batches) == [3, 5, 20, 20]
    assert emulator_stats(emulator)["authMethods"] == {"methods": 45, "posts": 48, "postsInBatch": 48}


def scripted(envelope: int, items: dict[str, int] | None = None) -> GraphDirectory:
    """A directory whose `$batch` answers `envelope`, with `items` (id → status; absent ids are left out) in a 200."""

    def answer(request: httpx.Request) -> httpx.Response:
        if envelope != 200:
            headers = {"Retry-After": "3"} if envelope == 429 else {}
            return httpx.Response(envelope, headers=headers, json={"error": {"code": "x", "message": "y"}})
        sent = json.loads(request.content)["requests"]
        responses = [{"id": r["id"], "status": (items or {})[r["id"]], "headers": {"Retry-After": "2"}, "body": {}}
                     for r in sent if r["id"] in (items or {})]  # fmt: skip
        return httpx.Response(200, json={"responses": responses})

    client = make_graph_client("http://127.0.0.1:9/v1.0", APP, transport=httpx.MockTransport(answer))
    lane = AppLane(APP, client, ThrottleBudget(3000, 150.0))
    return GraphDirectory([lane], ThrottleBudget(18000, 300.0))


async def test_answers_that_may_hide_a_commit_are_ambiguous_and_429s_block_the_lane() -> None:
    posts = [mobile(f"user-{n}", n) for n in range(3)]

    for envelope in (504, 424, 500):
        assert {a.status for a in await scripted(envelope).add_methods(posts)} == {"ambiguous"}, envelope
    throttled = scripted(429)
    assert [(a.status, a.retry_after) for a in await throttled.add_methods(posts)] == [("throttled", 3.0)] * 3
    assert throttled.lanes[0].budget.delay_for(1) > 2.5  # type: ignore[attr-defined]  # nothing before Retry-After
    mixed = await scripted(200, {"0": 201, "1": 504}).add_methods(posts)  # item 2 missing from the answer
    assert [a.status for a in mixed] == ["added", "ambiguous", "ambiguous"]
    items = await scripted(200, {"0": 429, "1": 503, "2": 400}).add_methods(posts)
    assert [(a.status, a.retry_after) for a in items] == [("throttled", 2.0), ("unavailable", 2.0), ("refused", None)]
