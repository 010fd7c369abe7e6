"""B2C directory-audits feed against the tenant emulator: overlap + dedupe by audit id, paging, retention, state."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from shared.sync.feed import CursorExpired
from shared.sync.feeds import FeedCredentials, FeedOptions, build_feed
from tests.feeds.conftest import drain


def audit(user_id: str, activity: str, operation: str, at: datetime) -> dict:
    return {"id": f"Directory_{uuid.uuid4()}", "activityDisplayName": activity, "operationType": operation,
            "activityDateTime": at.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z", "category": "UserManagement",
            "targetResources": [{"id": user_id, "type": "User", "userPrincipalName": f"{user_id}@b2c"}]}


def add(handle, records) -> None:
    httpx.post(f"{handle.base_url}/_emulator/directoryAudits", json=records, timeout=10).raise_for_status()


async def test_overlap_dedupe_paging_and_retention(start_emulator):
    handle = start_emulator()
    now = datetime.now(UTC)
    first = [audit(f"u{i}", "Update user", "Update", now - timedelta(minutes=30) + timedelta(seconds=i))
             for i in range(1500)]
    add(handle, first)
    live = build_feed("b2c", handle.base_url, FeedCredentials(), FeedOptions(start_at=now - timedelta(hours=1)))
    hints, cursor, _ = await drain(live, None)
    assert sorted(h.change_id for h in hints) == sorted(r["id"] for r in first)  # two pages of 1,000
    # Late records inside the overlap window, and the window re-read: new ones once, old ones not again.
    late = [audit("u1", "Change user password", "Update", now - timedelta(seconds=30)),
            audit("u2", "Delete user", "Delete", now - timedelta(seconds=20))]
    add(handle, late)
    again, cursor, _ = await drain(live, cursor)
    assert [(h.legacy_id, h.op) for h in again] == [("u1", "password"), ("u2", "delete")]
    assert (await drain(live, cursor))[0] == []
    await live.close()
    later = build_feed("b2c", handle.base_url, FeedCredentials(), FeedOptions(),
                       clock=lambda: datetime.now(UTC).timestamp() + 8 * 86400)
    with pytest.raises(CursorExpired, match="7-day"):
        await later.feed.read(cursor)
    await later.close()
