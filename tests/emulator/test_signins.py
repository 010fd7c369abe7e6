"""Contract: GET /auditLogs/signIns (graph docs api/signin-list.md): createdDateTime filter, $top,
nextLink paging, newest first, 5 requests / 10 s per app (throttling-limits.md, reports)."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphServiceClient
from msgraph.generated.audit_logs.sign_ins.sign_ins_request_builder import SignInsRequestBuilder
from msgraph.generated.models.o_data_errors.o_data_error import ODataError

from tests.emulator.conftest import APP_B, unsigned_jwt

BASE = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


def stamp(minutes: int) -> str:
    return (BASE + dt.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def query(**params: object) -> RequestConfiguration[SignInsRequestBuilder.SignInsRequestBuilderGetQueryParameters]:
    return RequestConfiguration(
        query_parameters=SignInsRequestBuilder.SignInsRequestBuilderGetQueryParameters(**params)
    )


async def seed(control: httpx.AsyncClient, count: int) -> None:
    records = [
        {"id": f"s{n}", "createdDateTime": stamp(n), "userId": f"u{n % 3}", "appId": "app",
         "status": {"errorCode": 0 if n % 2 else 50126}}
        for n in range(count)
    ]  # fmt: skip
    response = await control.post("/signIns", json=records)
    assert response.json() == {"added": count}
    assert (await control.post("/signIns", json=records[:2])).json() == {"added": 0}  # ids dedup


async def test_filter_window_and_paging(graph: GraphServiceClient, control: httpx.AsyncClient) -> None:
    await seed(control, 10)
    window = f"createdDateTime ge {stamp(2)} and createdDateTime le {stamp(6)}"
    page = await graph.audit_logs.sign_ins.get(query(filter=window, top=2))
    ids: list[str] = []
    requests = 1
    while page is not None:
        ids.extend(s.id or "" for s in page.value or [])
        if not page.odata_next_link:
            break
        page = await graph.audit_logs.sign_ins.with_url(page.odata_next_link).get()
        requests += 1
    assert ids == ["s6", "s5", "s4", "s3", "s2"]  # newest first, both bounds inclusive
    assert requests == 3


async def test_late_records_do_not_shift_pages(graph: GraphServiceClient, control: httpx.AsyncClient) -> None:
    await seed(control, 4)
    first = await graph.audit_logs.sign_ins.get(query(top=2))
    assert first is not None and [s.id for s in first.value or []] == ["s3", "s2"]
    await control.post("/signIns", json={"id": "late", "createdDateTime": stamp(3)})
    assert first.odata_next_link
    second = await graph.audit_logs.sign_ins.with_url(first.odata_next_link).get()
    assert second is not None and [s.id for s in second.value or []] == ["s1", "s0"]


async def test_reporting_api_allows_five_requests_per_ten_seconds(
    graph: GraphServiceClient, control: httpx.AsyncClient, emulator: object
) -> None:
    for _ in range(5):
        await graph.audit_logs.sign_ins.get()
    with pytest.raises(ODataError) as error:
        await graph.audit_logs.sign_ins.get()
    assert error.value.response_status_code == 429
    headers = {k.lower(): v for k, v in (error.value.response_headers or {}).items()}
    assert 9 <= float(headers["retry-after"]) <= 10
    # Per app: another registration still has its own five.
    async with httpx.AsyncClient(base_url=emulator.graph_url) as other:  # type: ignore[attr-defined]
        response = await other.get(
            "/auditLogs/signIns", headers={"Authorization": f"Bearer {unsigned_jwt({'appid': APP_B})}"}
        )
    assert response.status_code == 200
    by_reason = (await control.get("/stats")).json()["apps"]
    assert sum(a["throttledBy"].get("ReportingLimitExceeded", 0) for a in by_reason.values()) == 1


async def test_bad_filter_is_rejected(graph: GraphServiceClient) -> None:
    with pytest.raises(ODataError) as error:
        await graph.audit_logs.sign_ins.get(query(filter="riskLevel eq 'high'"))
    assert error.value.response_status_code == 400
