"""Fixtures for the live legacy feeds: each vendor emulator on 127.0.0.1 in its own thread, and feed builders."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from emulator.legacy import Auth0Emulator, KeycloakEmulator, LegacyEmulator, LegacyHandle, OktaEmulator, run_in_thread
from shared.sync.feed import ChangeHint
from shared.sync.feeds import FeedCredentials, FeedOptions, LiveFeed, build_feed

CREDENTIALS = {
    "auth0": FeedCredentials(client_id="sync-client", client_secret=SecretStr("sync-secret")),
    "okta": FeedCredentials(api_token=SecretStr("okta-api-token")),
    "keycloak": FeedCredentials(client_id="ciam-sync", client_secret=SecretStr("kc-secret")),
}


def feed_url(source: str, handle: LegacyHandle) -> str:
    return f"{handle.base_url}/realms/acme" if source == "keycloak" else handle.base_url


@pytest.fixture
def legacy() -> Iterator[Callable[..., LegacyHandle]]:
    handles: list[LegacyHandle] = []

    def start(source: str, **config: Any) -> LegacyHandle:
        kinds: dict[str, type[LegacyEmulator]] = {
            "auth0": Auth0Emulator,
            "okta": OktaEmulator,
            "keycloak": KeycloakEmulator,
        }
        handle = run_in_thread(kinds[source](**config))
        handles.append(handle)
        return handle

    yield start
    for handle in handles:
        handle.stop()


def live(source: str, handle: LegacyHandle, credentials: FeedCredentials | None = None, **options: Any) -> LiveFeed:
    emulator = handle.emulator
    return build_feed(
        source,
        feed_url(source, handle),
        credentials or CREDENTIALS[source],
        FeedOptions(**options),
        clock=lambda: time.time() + emulator.clock.offset,
    )


async def drain(live_feed: LiveFeed, cursor: str | None, reads: int = 100) -> tuple[list[ChangeHint], str | None, int]:
    """Read until the feed says it has no more; (hints, cursor, number of reads)."""
    hints: list[ChangeHint] = []
    for n in range(1, reads + 1):
        page = await live_feed.feed.read(cursor)
        hints.extend(page.hints)
        cursor = page.cursor
        if not page.more:
            return hints, cursor, n
    raise AssertionError("the feed never caught up")
