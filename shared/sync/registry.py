"""Which change feed serves a `--source`: one registry, `FEEDS`, plus the plugged-in feeds package.

A feed factory takes a FeedContext (the source name, the `--feed` location, the sync store and sealer, the
settings) and returns a FeedSpec: the ChangeFeed to poll and the LegacyState the apply stage re-reads.
`feed_spec(ctx)` looks the source up in FEEDS first, then asks `shared.sync.feeds.feed_for(ctx)` (the vendor
feeds: Auth0, Okta, Keycloak, B2C), which returns a FeedSpec or None for a source it doesn't serve. A source
with no feed at all can still sync through snapshot diffs (`sync --snapshot EXPORT`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from shared.config import Settings
from shared.sealing import Sealer
from shared.sync.drop import ChangeDrop
from shared.sync.feed import ChangeFeed, LegacyState
from shared.sync.store import SyncStore


class UnknownFeed(Exception):
    """No change feed for this source: str() says which sources have one and what else to do."""


@dataclass(frozen=True)
class FeedContext:
    source: str
    feed: str  # the --feed value: a path for the drop, a tenant URL for an API feed
    store: SyncStore
    sealer: Sealer
    settings: Settings


@dataclass(frozen=True)
class FeedSpec:
    feed: ChangeFeed
    state: LegacyState


FeedFactory = Callable[[FeedContext], FeedSpec]


def _drop(ctx: FeedContext) -> FeedSpec:
    drop = ChangeDrop(Path(ctx.feed), ctx.store, ctx.sealer, source=ctx.source)
    return FeedSpec(feed=drop, state=drop)


FEEDS: dict[str, FeedFactory] = {"jsonl": _drop}


def feed_spec(ctx: FeedContext) -> FeedSpec:
    factory = FEEDS.get(ctx.source)
    if factory is not None:
        return factory(ctx)
    plugged = _plugged()
    spec = plugged(ctx) if plugged is not None else None
    if spec is None:
        raise UnknownFeed(
            f"no change feed for source {ctx.source!r} (feeds: {', '.join(sorted(FEEDS))}); "
            "use --snapshot EXPORT to sync it from fresh exports"
        )
    return spec


def _plugged() -> Callable[[FeedContext], FeedSpec | None] | None:
    try:
        module = importlib.import_module("shared.sync.feeds")
    except ModuleNotFoundError:
        return None
    factory: Callable[[FeedContext], FeedSpec | None] | None = getattr(module, "feed_for", None)
    return factory
