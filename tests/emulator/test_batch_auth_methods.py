"""Contract: authentication-method POSTs as `$batch` items (graph docs concepts/json-batching.md: any request, ≤ 20
per batch, one status per item; concepts/throttling.md "Throttling and batching": "Requests in a batch are
evaluated individually against throttling limits"; api/authentication-post-phonemethods.md,
api/authentication-post-emailmethods.md for what each item answers)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

PHONE = "/users/{}/authentication/phoneMethods"
EMAIL = "/users/{}/authentication/emailMethods"


def method_item(item_id: str, url: str, body: dict[str, str]) -> dict[str, Any]:
    return {"id": item_id, "method": "POST", "url": url, "headers": {"Content-Type": "application/json"}, "body": body}


def mobile(item_id: str, user_id: str, number: str, phone_type: str = "mobile") -> dict[str, Any]:
    return method_item(item_id, PHONE.format(user_id), {"phoneNumber": number, "phoneType": phone_type})


async def batch(http: httpx.AsyncClient, items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    response = await http.post("/$batch", json={"requests": items})
    assert response.status_code == 200, response.text
    return {r["id"]: r for r in response.json()["responses"]}


async def held(http: httpx.AsyncClient, user_id: str) -> list[str]:
    phones = (await http.get(PHONE.format(user_id))).json()["value"]
    emails = (await http.get(EMAIL.format(user_id))).json()["value"]
    return [f"{p['phoneType']}={p['phoneNumber']}" for p in phones] + [f"email={e['emailAddress']}" for e in emails]


async def test_each_method_item_answers_like_the_lone_post(
    http: httpx.AsyncClient, create_user: Any, control: httpx.AsyncClient
) -> None:
    a, b = (await create_user("ma@example.com"))["id"], (await create_user("mb@example.com"))["id"]
    by_id = await batch(http, [
        mobile("1", a, "+1 4255550100"),
        method_item("2", EMAIL.format(a), {"emailAddress": "backup@example.com"}),
        mobile("3", b, "+44 2079460958", "alternateMobile"),  # no mobile yet: refused on its own
        mobile("4", b, "4255550100"),  # not Graph's format
        mobile("5", "00000000-0000-0000-0000-000000000000", "+1 4255550101"),
    ])  # fmt: skip

    assert {k: v["status"] for k, v in by_id.items()} == {"1": 201, "2": 201, "3": 400, "4": 400, "5": 404}
    assert by_id["1"]["body"]["id"] == "3179e48a-750b-4051-897c-87b9720928f7"
    assert by_id["3"]["body"]["error"]["code"] == "Request_BadRequest"
    again = await batch(http, [mobile("1", a, "+1 4255559999")])  # a second mobile: refused, the first stays
    assert again["1"]["status"] == 400
    assert await held(http, a) == ["mobile=+1 4255550100", "email=backup@example.com"]
    assert await held(http, b) == []
    posts = (await control.get("/stats")).json()["authMethods"]
    assert posts["postsInBatch"] == 6 and posts["methods"] == 2


@pytest.mark.emulator_config(quotas={"app_writes": 4})
async def test_each_method_item_counts_one_write_and_a_throttled_one_writes_nothing(
    http: httpx.AsyncClient, create_user: Any
) -> None:
    users = [(await create_user(f"q{n}@example.com"))["id"] for n in range(2)]  # 2 of the 4 writes
    by_id = await batch(http, [mobile(str(n), users[n % 2], f"+1 425555010{n}", ["mobile", "office"][n // 2])
                               for n in range(4)])  # fmt: skip

    assert sorted(r["status"] for r in by_id.values()) == [201, 201, 429, 429]
    throttled = [r for r in by_id.values() if r["status"] == 429]
    assert all(float(r["headers"]["Retry-After"]) > 0 for r in throttled)
    assert all(r["body"]["error"]["code"] == "TooManyRequests" for r in throttled)
    assert len(await held(http, users[0])) + len(await held(http, users[1])) == 2


async def test_a_504_after_commit_item_and_a_whole_batch_504_after_commit_leave_the_methods_registered(
    http: httpx.AsyncClient, create_user: Any, control: httpx.AsyncClient
) -> None:
    a, b = (await create_user("fa@example.com"))["id"], (await create_user("fb@example.com"))["id"]
    assert (await control.post("/faults", json={"504-after-commit": 1.0})).status_code == 200
    item_fault = await batch(http, [mobile("1", a, "+1 4255550100")])
    assert item_fault["1"]["status"] == 504  # the item's answer is lost …
    assert await held(http, a) == ["mobile=+1 4255550100"]  # … but Graph committed it

    assert (await control.post("/faults", json={"batch-504-after-commit": 1.0})).status_code == 200
    items = [mobile("1", b, "+1 4255550101"), method_item("2", EMAIL.format(b), {"emailAddress": "b@example.org"})]
    whole = await http.post("/$batch", json={"requests": items})

    assert whole.status_code == 504
    assert await held(http, b) == ["mobile=+1 4255550101", "email=b@example.org"]
