"""Keycloak events feed against the Keycloak emulator: events off by default, equal timestamps, dedupe, expiry."""

from __future__ import annotations

import random
import time

import httpx
import pytest

from emulator.legacy import Change
from shared.sources import read_keycloak
from shared.sync.feed import CursorExpired
from shared.sync.feeds import FeedMisconfigured
from shared.sync.feeds.records import reader_options
from tests.feeds.conftest import drain, live


def mixed_changes(emulator, n: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    ids = [u["id"] for u in emulator.users()]
    for i in range(n):
        via = rng.choice(("admin", "user"))
        if not ids or rng.random() < 0.2:
            ids += emulator.apply_all(
                [Change("create", fields={"username": f"u{i}", "email": f"u{i}@example.com"}, via=via)]
            )
        elif rng.random() < 0.05 and len(ids) > 3:
            emulator.apply_all([Change("delete", id=ids.pop(rng.randrange(len(ids))), via=via)])
        else:
            op = rng.choice(("update", "email", "disable", "enable", "password"))
            fields = (
                {"firstName": f"F{i}"} if op == "update" else {"email": f"e{i}@example.com"} if op == "email" else {}
            )
            emulator.apply_all([Change(op, id=rng.choice(ids), fields=fields, via=via)])


def event_ids(emulator) -> set[str]:
    return {e["id"] for e in emulator.admin_events} | {e["id"] for e in emulator.user_events}


async def enable_events(handle) -> None:
    """As docs/feeds.md tells an operator: PUT the realm's events config with both kinds saved."""
    base = handle.base_url
    async with httpx.AsyncClient() as client:
        token = (
            await client.post(
                f"{base}/realms/acme/protocol/openid-connect/token",
                data={"grant_type": "client_credentials", "client_id": "ciam-sync", "client_secret": "kc-secret"},
            )
        ).json()
        reply = await client.put(
            f"{base}/admin/realms/acme/events/config",
            headers={"Authorization": f"Bearer {token['access_token']}"},
            json={"eventsEnabled": True, "adminEventsEnabled": True, "adminEventsDetailsEnabled": True},
        )
        assert reply.status_code == 204


async def test_events_off_by_default_is_a_clear_error(legacy):
    handle = legacy("keycloak")
    feed = live("keycloak", handle)
    with pytest.raises(FeedMisconfigured, match="Save events"):
        await feed.feed.read(None)
    await feed.close()


async def test_equal_timestamps_overlap_and_dedupe(legacy):
    handle = legacy("keycloak", tick_ms=1000)  # bursts share a timestamp; ties sort in no set order
    emulator = handle.emulator
    await enable_events(handle)
    emulator.seed_sample()
    mixed_changes(emulator, 250)
    feed = live("keycloak", handle, keycloak_page_size=20, max_pages_per_read=3)
    hints, cursor, reads = await drain(feed, None)
    assert reads > 2  # the page budget ran out mid-burst: later reads went on from the stored offset
    assert sorted(h.change_id for h in hints) == sorted(event_ids(emulator))  # every event once
    # The next poll re-reads the overlap window (same timestamps) and emits nothing twice.
    before = event_ids(emulator)
    mixed_changes(emulator, 15, seed=4)
    later, cursor, _ = await drain(feed, cursor)
    assert sorted(h.change_id for h in later) == sorted(event_ids(emulator) - before)
    again, _, _ = await drain(feed, cursor)
    assert again == []
    await feed.close()


async def test_credential_event_names_of_current_keycloak(legacy):
    handle = legacy("keycloak", events_enabled=True, credential_events=True)
    emulator = handle.emulator
    emulator.seed_sample()
    user = emulator.users()[0]["id"]
    emulator.apply_all(
        [
            Change("password", id=user, via="user"),
            Change("password", id=user, via="admin"),
            Change("delete", id=user, via="user"),
        ]
    )
    hints, _, _ = await drain(live("keycloak", handle), None)
    assert [(h.legacy_id, h.op) for h in hints if h.legacy_id == user] == [
        (user, "password"),
        (user, "password"),
        (user, "delete"),
    ] or sorted(h.op for h in hints) == ["delete", "password", "password"]


async def test_event_expiry_raises_cursor_expired(legacy):
    handle = legacy("keycloak", events_enabled=True, events_expiration_s=3600)
    emulator = handle.emulator
    emulator.seed_sample()
    mixed_changes(emulator, 10)
    feed = live("keycloak", handle)
    _, cursor, _ = await drain(feed, None)
    emulator.clock.offset += 2 * 3600
    with pytest.raises(CursorExpired, match="expiry"):
        await feed.feed.read(cursor)
    await feed.close()


async def test_state_maps_users_like_the_bulk_reader(legacy, tmp_path):
    handle = legacy("keycloak", events_enabled=True)
    emulator = handle.emulator
    emulator.seed_sample()
    realm = tmp_path / "acme-realm.json"
    realm.write_text(emulator.export_text())
    bulk = {i.user.legacy_id: i.user for i in read_keycloak(realm, reader_options("keycloak")) if hasattr(i, "user")}
    feed = live("keycloak", handle)
    assert len(bulk) >= 3
    for legacy_id, expected in bulk.items():
        assert await feed.state.read_user(legacy_id) == expected
    assert await feed.state.read_user("gone") is None
    await feed.close()
    assert time.time() > 0
