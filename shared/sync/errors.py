"""Every error the sync raises, and what to do next.

* `UserGone` — Graph answered 404 for the user: deleted in Entra, or too young to read yet (read-after-write
  lag). The apply stage retries later, a few times, then records the user as gone.
* `WriteRejected` — a permanent Graph refusal (400/403) with Graph's error code: recorded with a reason code,
  never retried. Its message names properties, never values.
* `GraphBusy` — throttled or unavailable after the in-process retries: transient, a continuation is scheduled.
* `CursorExpired` (shared.sync.feed) — the feed no longer holds the cursor's position: run a snapshot diff.
* `FeedUnreadable` — the feed (a drop file, an API) can't be read at all: one line naming what and why.
"""

from __future__ import annotations


class UserGone(Exception):
    pass


class WriteRejected(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class GraphBusy(Exception):
    pass


class FeedUnreadable(Exception):
    pass
