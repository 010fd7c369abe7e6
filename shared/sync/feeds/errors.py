"""Every error a legacy change feed raises. None of their texts ever holds a token, secret or profile value.

* FeedError: the base; `transient` says whether the next poll may simply try again.
* FeedThrottled (transient): the legacy API said 429 and the wait it asked for is longer than we wait inline;
  `retry_at` (epoch seconds) is when the next request may go — the poller should not call before then.
* FeedUnavailable (transient): network error, timeout or 5xx.
* FeedAuthError (permanent): 401/403 — the credentials are wrong or lack a permission the message names.
* FeedMisconfigured (permanent): the legacy system is set up so the feed can't work (Keycloak events off, a
  feed URL we can't parse, credentials missing); the message says what to change.
* FeedRecordRejected (permanent, per user): the user's current record does not map to the interchange record;
  `code` is the reader's reason code.
* CursorExpired (from shared.sync.feed): the cursor is older than the feed's retention — run a snapshot diff.
"""

from __future__ import annotations


class FeedError(Exception):
    transient = False


class FeedThrottled(FeedError):
    transient = True

    def __init__(self, source: str, retry_at: float) -> None:
        self.retry_at = retry_at
        super().__init__(f"{source}: rate limited by the legacy API; next request allowed at epoch {retry_at:.0f}")


class FeedUnavailable(FeedError):
    transient = True


class FeedAuthError(FeedError):
    pass


class FeedMisconfigured(FeedError):
    pass


class FeedRecordRejected(FeedError):
    def __init__(self, legacy_id: str, code: str, message: str) -> None:
        self.legacy_id = legacy_id
        self.code = code
        super().__init__(f"{legacy_id}: {code}: {message}")
