"""ingest sign-ins (timer): read auditLogs/signIns since the stored cursor, count each sign-in once, emit metrics.

In: the tick time. Out: an IngestResult; metric points (store + Telemetry); the cursors advanced. Two slices per
run: the fresh slice [cursor - fresh_overlap, now] (fresh_overlap covers the usual 2–5 min arrival delay plus
an interval, so most sign-ins are counted within one interval of arriving), and the late sweep
[sweep cursor, now - overlap], overlap = the longest arrival delay (30 min) plus one interval: every record is
read once more after it can no longer arrive, so one up to 30 min late is counted too (R14), while a run re-reads
only the fresh slice, not 35 minutes of sign-ins (at 50 sign-ins/s that would be ~100 pages, 4 minutes of the
reporting quota, per run). Ids already counted are dropped (dedupe by sign-in id, committed with the points in
one transaction per page as it arrives, before the cursors move: a crash repeats the read, never a count; a
record's lag is its page's, not the run's last page's).
Every request first takes a ReportingLimiter slot (under 5 / 10 s); a 429 holds for Retry-After and splits the
slice in two, down to `min_slice_s` (R15). Missed timer runs are covered: the window starts at the cursor.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from shared.config import Settings
from shared.monitoring.metrics import (
    ACTIVE_USERS,
    CALLOUT_CODES,
    CALLOUT_FAILURES,
    FLAGGED_REMAINING,
    FLAGS_CLEARED,
    GRAPH_THROTTLED,
    INGEST_LAG,
    MIGRATED_ACTIVE_USERS,
    SIGNIN_OUTCOMES,
    STAGE_RUN,
    MetricSink,
    code_label,
    outcome_of,
)
from shared.monitoring.reporting_limiter import ReportingLimiter
from shared.monitoring.signin_log import ReportingThrottled, SignInLog, SignInRecord
from shared.monitoring.store import MonitorStore, SeenSignIn, SignInClaim

logger = logging.getLogger(__name__)

CURSOR = "ingest_signins"
SWEEP_CURSOR = "ingest_signins.sweep"
UNKNOWN_USER = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class IngestSettings:
    overlap_s: float = 35 * 60.0  # 30 min of arrival delay + one 5-min timer interval: the late sweep's lag
    fresh_overlap_s: float = 10 * 60.0  # the usual 2–5 min arrival delay + one interval; >= overlap_s: one slice
    first_lookback_s: float = 60 * 60.0  # no cursor yet: start this far back
    min_slice_s: float = 60.0  # narrowest time slice after repeated 429s
    backoff_s: float = 2.0  # 429 without Retry-After
    app_waves: dict[str, str] = field(default_factory=dict)  # appId -> wave name; others: "unassigned"

    @classmethod
    def from_settings(cls, settings: Settings) -> IngestSettings:
        """The SIGNIN_* app settings (shared/config.py)."""
        return cls(overlap_s=settings.SIGNIN_OVERLAP_S, fresh_overlap_s=settings.SIGNIN_FRESH_OVERLAP_S,
                   first_lookback_s=settings.SIGNIN_FIRST_LOOKBACK_S, min_slice_s=settings.SIGNIN_MIN_SLICE_S,
                   backoff_s=settings.SIGNIN_BACKOFF_S, app_waves=dict(settings.SIGNIN_APP_WAVES))  # fmt: skip


@dataclass
class IngestPorts:
    sign_ins: SignInLog
    store: MonitorStore
    limiter: ReportingLimiter
    metrics: MetricSink
    flagged_remaining: Callable[[], Awaitable[int | None]] | None = None
    on_counted: Callable[[Sequence[str]], None] | None = None  # after each page's ids are claimed


@dataclass(frozen=True)
class IngestResult:
    since: datetime
    until: datetime
    read: int
    new: int
    duplicates: int
    requests: int
    throttled: int
    new_ids: tuple[str, ...] = ()


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class _Reader:
    """Pages one slice after another; each page is counted (deduped, emitted, claimed) as soon as it arrives."""

    def __init__(
        self, ports: IngestPorts, settings: IngestSettings, count: Callable[[Sequence[SignInRecord]], Awaitable[None]]
    ) -> None:
        self.ports = ports
        self.settings = settings
        self.count = count
        self.requests = 0
        self.throttled = 0

    async def read_slice(self, since: datetime, until: datetime) -> None:
        link: str | None = None
        while True:
            await self.ports.limiter.acquire()
            self.requests += 1
            try:
                page = await self.ports.sign_ins.read(since, until, link)
            except ReportingThrottled as throttled:
                self.throttled += 1
                await self.ports.limiter.hold(throttled.retry_after or self.settings.backoff_s)
                if (until - since).total_seconds() > self.settings.min_slice_s * 2:
                    middle = since + (until - since) / 2
                    await self.read_slice(middle, until)  # newest first, as Graph pages
                    await self.read_slice(since, middle)
                    return
                continue  # narrowest slice: the same request again, after the hold
            await self.count(page.records)
            link = page.next_link
            if link is None:
                return


async def ingest_signins(now: datetime, ports: IngestPorts, settings: IngestSettings | None = None) -> IngestResult:
    settings = settings or IngestSettings()
    stored = await ports.store.get_cursor(CURSOR)
    start = _parse(stored) if stored else now - timedelta(seconds=settings.first_lookback_s)
    overlap = timedelta(seconds=settings.overlap_s)
    fresh = timedelta(seconds=min(settings.fresh_overlap_s, settings.overlap_s))
    swept = await ports.store.get_cursor(SWEEP_CURSOR)
    sweep_since = _parse(swept) if swept else start - overlap
    sweep_until = max(sweep_since, min(now - overlap, start - fresh))
    since, until = min(start - fresh, sweep_since), now
    read: set[str] = set()
    new_ids: list[str] = []
    users: list[tuple[int, int]] = []

    async def count(records: Sequence[SignInRecord]) -> None:
        # Ids and their points in one transaction per page: a crash repeats the read (the cursor has not moved),
        # and the repeat finds every id already claimed. Counting per page, not per run, keeps the lag of a
        # record to the page that carries it, not the run's last page (several limiter waits later).
        read.update(r.id for r in records)
        unseen = await ports.store.unseen([r.id for r in records])
        new = sorted((r for r in records if r.id in unseen), key=lambda r: r.created)
        if not new:
            return
        claims, tally = await _emit_sign_ins(new, now, ports, settings)
        users.append(tally)
        # Each sign-in is claimed with its own points: one another instance claimed first keeps its points only.
        claimed = await ports.store.claim_sign_ins(claims)
        ids = tuple(r.id for r in new if r.id in claimed)
        new_ids.extend(ids)
        if ports.on_counted is not None:
            ports.on_counted(ids)

    reader = _Reader(ports, settings, count)
    await reader.read_slice(start - fresh, until)
    if fresh < overlap and sweep_until > sweep_since:
        await reader.read_slice(sweep_since, sweep_until)
    await _emit_run(users[-1] if users else await ports.store.note_users([], []), now, ports, reader.throttled)
    await ports.store.claim_sign_ins([], ports.metrics.take())
    await ports.store.put_cursor(CURSOR, _iso(until))
    await ports.store.put_cursor(SWEEP_CURSOR, _iso(sweep_until))
    await ports.store.forget_sign_ins_before(sweep_until - overlap)
    result = IngestResult(
        since,
        until,
        len(read),
        len(new_ids),
        len(read) - len(new_ids),
        reader.requests,
        reader.throttled,
        tuple(new_ids),
    )
    logger.info(
        "ingest sign-ins: %d read, %d new, %d requests, %d throttled",
        result.read,
        result.new,
        result.requests,
        result.throttled,
    )
    return result


async def _emit_sign_ins(
    new: Sequence[SignInRecord], now: datetime, ports: IngestPorts, settings: IngestSettings
) -> tuple[list[SignInClaim], tuple[int, int]]:
    """Each newly seen sign-in with its points; and (users who signed in since cutover, of them migrated)."""
    metrics = ports.metrics
    claims: list[SignInClaim] = []
    attempted: list[str] = []
    succeeded: list[str] = []
    for record in new:
        code = record.status.error_code
        app = record.app_id or "none"
        callout = record.callout
        metrics.count(
            SIGNIN_OUTCOMES,
            at=record.created,
            outcome=outcome_of(code),
            code=code_label(code),
            app=app,
            wave=settings.app_waves.get(app, "unassigned"),
            jit="called" if callout else "none",
        )
        callout_code = callout.error_code if callout is not None else None
        if callout_code in CALLOUT_CODES or code in CALLOUT_CODES:
            metrics.count(CALLOUT_FAILURES, at=record.created, code=str(callout_code or code), app=app)
        if callout is not None and code == 0:
            metrics.count(FLAGS_CLEARED, at=record.created, app=app)
        metrics.gauge(INGEST_LAG, max((now - record.created).total_seconds(), 0.0), at=now)
        if record.user_id and record.user_id != UNKNOWN_USER:
            attempted.append(record.user_id)
            if code == 0:
                succeeded.append(record.user_id)
        claims.append(SignInClaim(SeenSignIn(record.id, record.created), tuple(metrics.take())))
    return claims, await ports.store.note_users(attempted, succeeded)


async def _emit_run(users: tuple[int, int], now: datetime, ports: IngestPorts, throttled: int) -> None:
    metrics = ports.metrics
    tried, migrated = users
    metrics.gauge(ACTIVE_USERS, tried, at=now)
    metrics.gauge(MIGRATED_ACTIVE_USERS, migrated, at=now)
    if ports.flagged_remaining is not None:
        remaining = await ports.flagged_remaining()
        if remaining is not None:
            metrics.gauge(FLAGGED_REMAINING, remaining, at=now)
    if throttled:
        metrics.count(GRAPH_THROTTLED, throttled, at=now, api="reporting")
    metrics.count(STAGE_RUN, at=now, stage="ingest_signins")
