"""Live legacy change feeds, by source name: what `ciam-migrate sync --source S --feed URL` builds.

    live = build_feed("auth0", "https://TENANT.auth0.com", credentials, options)   # live.feed, live.state
    ...; await live.close()

`build_feed(source, url, credentials, options, *, source_options, clock, sleep, client)` returns a LiveFeed: the
ChangeFeed, the LegacyState that re-reads users through the same API session (one token, one rate gate), and
`close()`. `LIVE_SOURCES` lists the sources with a live feed (auth0, okta, keycloak; b2c: Graph directory
audits); `is_live_feed(source, feed)` tells whether a --feed value is one of ours (an http(s) URL for a live
source) or belongs to the file-based feeds.
`feed_for(ctx)` is the hook the sync's feed registry calls (ctx: source, feed, settings).
Credentials come from Settings or a credentials file (shared.sync.feeds.options), never a command line.
Errors: UnknownFeedSource, plus those listed in shared.sync.feeds.errors.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import httpx
from azure.core.credentials_async import AsyncTokenCredential

from shared.adapters.graph.client import DEFAULT_EMULATOR_APP_ID, EmulatorCredential
from shared.config import Settings
from shared.sources.base import SourceOptions
from shared.sync.feed import ChangeFeed, LegacyState
from shared.sync.feeds.auth0 import Auth0Client, Auth0Feed, auth0_state
from shared.sync.feeds.b2c import B2CClient, B2CFeed, b2c_state
from shared.sync.feeds.errors import (
    FeedAuthError,
    FeedError,
    FeedMisconfigured,
    FeedRecordRejected,
    FeedThrottled,
    FeedUnavailable,
)
from shared.sync.feeds.http import LegacyHttp
from shared.sync.feeds.keycloak import KeycloakClient, KeycloakFeed, keycloak_state
from shared.sync.feeds.okta import OktaClient, OktaFeed, okta_state
from shared.sync.feeds.options import (
    FeedCredentials,
    FeedOptions,
    credentials_from_settings,
    load_credentials,
    options_from_settings,
)
from shared.sync.feeds.records import reader_options

LIVE_SOURCES = ("auth0", "okta", "keycloak", "b2c")


class UnknownFeedSource(FeedMisconfigured):
    pass


@dataclass
class LiveFeed:
    feed: ChangeFeed
    state: LegacyState
    http: LegacyHttp

    async def close(self) -> None:
        await self.http.close()


def graph_credential(feed_url: str, credentials: FeedCredentials, options: FeedOptions) -> AsyncTokenCredential:
    """The emulator's unsigned token on loopback; a client secret when given; else DefaultAzureCredential."""
    host = urlsplit(feed_url).hostname or ""
    if host in ("127.0.0.1", "localhost", "::1"):
        return EmulatorCredential(credentials.client_id or DEFAULT_EMULATOR_APP_ID)
    if credentials.client_id and credentials.client_secret is not None and options.b2c_tenant_id:
        from azure.identity.aio import ClientSecretCredential

        secret = credentials.client_secret.get_secret_value()
        return ClientSecretCredential(options.b2c_tenant_id, credentials.client_id, secret)
    from azure.identity.aio import DefaultAzureCredential

    return DefaultAzureCredential()


class FeedRequest(Protocol):
    """What the sync's feed registry passes (shared.sync.registry.FeedContext): the source, --feed, settings."""

    source: str
    feed: str
    settings: Settings


def feed_for(ctx: FeedRequest) -> LiveFeed | None:
    """The sync registry's hook: a live feed (with `.feed` and `.state`) for an http(s) --feed of a live source,
    None for anything else. Credentials and options come from Settings (LEGACY_*), the mapping from the source's
    default profile."""
    if not is_live_feed(ctx.source, ctx.feed):
        return None
    settings = ctx.settings
    return build_feed(ctx.source, ctx.feed, credentials_from_settings(settings), options_from_settings(settings))


def is_live_feed(source: str, feed: str) -> bool:
    return source in LIVE_SOURCES and feed.startswith(("http://", "https://"))


def build_feed(
    source: str,
    feed_url: str,
    credentials: FeedCredentials,
    options: FeedOptions | None = None,
    *,
    source_options: SourceOptions | None = None,
    profile: Path | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    client: httpx.AsyncClient | None = None,
) -> LiveFeed:
    """The feed and state of one live source. `source_options` (or `profile`) must be the run's mapping profile."""
    options = options or FeedOptions()
    mapping = reader_options(source, profile, source_options) if source in LIVE_SOURCES else None
    if source == "auth0" and mapping is not None:
        auth0 = Auth0Client(feed_url, credentials, options, clock=clock, sleep=sleep, client=client)
        return LiveFeed(Auth0Feed(auth0, options, clock), auth0_state(auth0, mapping), auth0.http)
    if source == "okta" and mapping is not None:
        okta = OktaClient(feed_url, credentials, options, clock=clock, sleep=sleep, client=client)
        return LiveFeed(OktaFeed(okta, options, clock), okta_state(okta, mapping), okta.http)
    if source == "keycloak" and mapping is not None:
        keycloak = KeycloakClient(feed_url, credentials, options, clock=clock, sleep=sleep, client=client)
        return LiveFeed(KeycloakFeed(keycloak, options, clock), keycloak_state(keycloak, mapping), keycloak.http)
    if source == "b2c" and mapping is not None:
        b2c = B2CClient(feed_url, graph_credential(feed_url, credentials, options), options, clock=clock, sleep=sleep,
                        client=client)  # fmt: skip
        return LiveFeed(B2CFeed(b2c, options, clock), b2c_state(b2c, mapping), b2c.http)
    raise UnknownFeedSource(f"no live change feed for source {source!r}; live feeds: {', '.join(LIVE_SOURCES)}")


__all__ = [
    "LIVE_SOURCES",
    "FeedAuthError",
    "FeedCredentials",
    "FeedError",
    "FeedMisconfigured",
    "FeedOptions",
    "FeedRecordRejected",
    "FeedThrottled",
    "FeedUnavailable",
    "LiveFeed",
    "UnknownFeedSource",
    "build_feed",
    "credentials_from_settings",
    "feed_for",
    "is_live_feed",
    "load_credentials",
    "options_from_settings",
]
