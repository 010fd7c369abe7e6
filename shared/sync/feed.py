"""The change-feed port every legacy source implements, and the hint it yields.

A feed entry is a *hint*, not the truth: every push or poll channel of a legacy CIAM is at-least-once and
unordered, so the apply stage re-reads the user's current legacy state (`LegacyState.read_user`) before it
writes anything. A hint therefore carries ids and a kind of operation, never profile values or secrets.

Cursor contract: `ChangeFeed.read(cursor)` returns the hints after `cursor` and the cursor to store once those
hints are safely on the queue (checkpoint before emit). Reading the same cursor twice may return the same hints
again (overlap windows); hints are deduplicated downstream by `change_id`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from shared.records import LegacyUser

ChangeOp = Literal["create", "update", "disable", "enable", "delete", "password", "unknown"]


class ChangeHint(BaseModel):
    """One entry of a legacy change feed: which user changed, how (as far as the feed says), and when."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    change_id: str  # the source's own event id (Auth0 log_id, Okta uuid, Keycloak id, a drop's seq): dedupe key
    legacy_id: str
    op: ChangeOp = "unknown"
    occurred_at: datetime | None = None
    seq: int | None = None  # a monotonic order within the user, where the source has one


class FeedReject(BaseModel):
    """A feed entry that can't be used: where it was, a reason code and a one-line message (no values)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    line: int | None
    legacy_id: str | None
    code: str
    message: str


class FeedPage(BaseModel):
    """Hints after a cursor, and the cursor to store once they are sent. `more`: call read again at once."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    hints: Sequence[ChangeHint]
    cursor: str | None
    more: bool = False
    oldest_available: datetime | None = None  # the feed's retention edge, when it tells
    newest_at: datetime | None = None  # when the newest change this page covers happened (lag), when known
    rejects: Sequence[FeedReject] = ()  # entries that could not be used (bad drop lines), reported, not sent


class CursorExpired(Exception):
    """The stored cursor is older than the feed's retention (or the source refused it: 410): only a snapshot
    diff can recover what the feed no longer holds."""


class ChangeFeed(Protocol):
    """A legacy system's change feed, read from a cursor (None = from the feed's start or a configured point)."""

    source: str
    retention: timedelta | None  # how long the source keeps feed entries; None when unbounded

    async def read(self, cursor: str | None) -> FeedPage: ...


class LegacyState(Protocol):
    """The legacy system's *current* view of one user: the apply stage re-reads before it writes."""

    async def read_user(self, legacy_id: str) -> LegacyUser | None:
        """The user as the legacy system holds them now; None when the user no longer exists there."""


class VersionedLegacyState(LegacyState, Protocol):
    """A LegacyState that also says which version (a monotonic seq) it read: the apply stage then refuses to
    apply an older version over a newer one it already applied."""

    async def read_version(self, legacy_id: str) -> tuple[LegacyUser | None, int | None]: ...


async def read_current(state: LegacyState, legacy_id: str) -> tuple[LegacyUser | None, int | None]:
    """(user, version) from any LegacyState; version is None when the source has none."""
    read_version = getattr(state, "read_version", None)
    if read_version is not None:
        user, seq = await read_version(legacy_id)
        return user, seq
    return await state.read_user(legacy_id), None
