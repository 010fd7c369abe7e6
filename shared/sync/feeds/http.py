"""HTTP to a legacy system's admin API: one client per feed, rate limits honoured, secrets kept out of errors.

`LegacyHttp.get(path_or_url, params)` sends with the auth header its `authorize()` callable supplies and
answers (status, headers, JSON body). Rate limits: a 429 (or a response saying 0 requests remain) sets a
"not before" time from `Retry-After` (seconds or HTTP date) and the vendor's reset header (`X-RateLimit-Reset`
/ `X-Rate-Limit-Reset`, UTC epoch seconds); no request leaves before it. A wait longer than
`max_inline_wait_s` raises FeedThrottled instead of sleeping. Network errors and 5xx raise FeedUnavailable;
401/403 FeedAuthError. Time and sleep are parameters (tests pass fakes).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from shared.sync.feeds.errors import FeedAuthError, FeedMisconfigured, FeedThrottled, FeedUnavailable
from shared.sync.feeds.options import FeedOptions

logger = logging.getLogger(__name__)

Clock = Callable[[], float]  # epoch seconds
Sleep = Callable[[float], Awaitable[None]]
Authorize = Callable[[], Awaitable[dict[str, str]]]

_RESET_HEADERS = ("x-ratelimit-reset", "x-rate-limit-reset")
_REMAINING_HEADERS = ("x-ratelimit-remaining", "x-rate-limit-remaining")


class Reply:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: Mapping[str, str], body: Any) -> None:
        self.status = status
        self.headers = headers
        self.body = body


def retry_at_from(headers: Mapping[str, str], now: float, *, throttled: bool) -> float | None:
    """When the next request may go, from the rate-limit headers; None when they set no wait."""
    candidates: list[float] = []
    retry_after = headers.get("retry-after")
    if retry_after:
        try:
            candidates.append(now + max(float(retry_after), 0.0))
        except ValueError:
            with contextlib.suppress(TypeError, ValueError):
                candidates.append(parsedate_to_datetime(retry_after).timestamp())
    remaining = next((headers[h] for h in _REMAINING_HEADERS if h in headers), None)
    exhausted = throttled or (remaining is not None and remaining.strip() == "0")
    if exhausted:
        for name in _RESET_HEADERS:
            value = headers.get(name)
            if value:
                with contextlib.suppress(ValueError):
                    candidates.append(float(value))
    if not candidates:
        return now + 1.0 if throttled else None  # a bare 429: a second's pause rather than a spin
    return max(candidates)


class LegacyHttp:
    def __init__(
        self,
        source: str,
        base_url: str,
        authorize: Authorize,
        *,
        timeout_s: float = 30.0,
        max_inline_wait_s: float = 30.0,
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.source = source
        self.base_url = base_url.rstrip("/")
        self._authorize = authorize
        self._clock = clock
        self._sleep = sleep
        self._max_wait = max_inline_wait_s
        self._client = client or httpx.AsyncClient(timeout=httpx.Timeout(timeout_s, connect=10.0))
        self.not_before = 0.0  # epoch seconds: nothing is sent earlier
        self.requests = 0
        self.throttled = 0

    @classmethod
    def for_feed(
        cls,
        source: str,
        base_url: str,
        authorize: Authorize,
        options: FeedOptions,
        *,
        clock: Clock,
        sleep: Sleep,
        client: httpx.AsyncClient | None,
    ) -> LegacyHttp:
        return cls(
            source,
            base_url,
            authorize,
            timeout_s=options.timeout_s,
            max_inline_wait_s=options.max_inline_wait_s,
            clock=clock,
            sleep=sleep,
            client=client,
        )

    async def close(self) -> None:
        await self._client.aclose()

    def url(self, path_or_url: str) -> str:
        return path_or_url if path_or_url.startswith(("http://", "https://")) else f"{self.base_url}{path_or_url}"

    async def _wait_turn(self) -> None:
        wait = self.not_before - self._clock()
        if wait <= 0:
            return
        if wait > self._max_wait:
            raise FeedThrottled(self.source, self.not_before)
        await self._sleep(wait)
        while (rest := self.not_before - self._clock()) > 0:  # a fake or coarse sleep: never go early
            await self._sleep(rest)

    async def get(self, path_or_url: str, params: Mapping[str, Any] | None = None) -> Reply:
        return await self.request("GET", path_or_url, params=params)

    async def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, str] | None = None,
        json: Any = None,
        authorize: bool = True,
        retries_on_429: int = 3,
    ) -> Reply:
        url = self.url(path_or_url)
        for _ in range(retries_on_429 + 1):
            await self._wait_turn()
            headers = {"Accept": "application/json"}
            if authorize:
                headers.update(await self._authorize())
            self.requests += 1
            try:
                response = await self._client.request(method, url, params=params, data=data, json=json, headers=headers)
            except httpx.HTTPError as exc:
                # The exception text can hold the URL, never our headers; name only the class.
                where = httpx.URL(url).path
                raise FeedUnavailable(f"{self.source}: {method} {where} failed ({type(exc).__name__})") from None
            reply_headers = {k.lower(): v for k, v in response.headers.items()}
            now = self._clock()
            gate = retry_at_from(reply_headers, now, throttled=response.status_code == 429)
            if gate is not None:
                self.not_before = max(self.not_before, gate)
            if response.status_code == 429:
                self.throttled += 1
                logger.info("%s: 429; next request at epoch %.0f", self.source, self.not_before)
                continue
            return self._reply(method, url, response, reply_headers)
        raise FeedThrottled(self.source, self.not_before)

    def _reply(self, method: str, url: str, response: httpx.Response, headers: dict[str, str]) -> Reply:
        status = response.status_code
        path = httpx.URL(url).path
        if status in (401, 403):
            raise FeedAuthError(
                f"{self.source}: {method} {path} answered {status}; check the credentials and that they grant "
                "the permissions docs/feeds.md lists for this source"
            )
        if status >= 500:
            raise FeedUnavailable(f"{self.source}: {method} {path} answered {status}")
        body: Any = None
        if response.content:
            try:
                body = response.json()
            except ValueError:
                body = None
        return Reply(status, headers, body)


def link_next(headers: Mapping[str, str]) -> str | None:
    """The rel="next" URL of an RFC 8288 Link header (Auth0 and Okta page this way)."""
    value = headers.get("link")
    if not value:
        return None
    for part in value.split(","):
        url, _, rest = part.strip().partition(";")
        if 'rel="next"' in rest.replace(" ", "") or "rel=next" in rest.replace(" ", ""):
            return url.strip().lstrip("<").rstrip(">")
    return None


def feed_origin(source: str, feed_url: str, example: str) -> str:
    """scheme://host[:port] of a --feed URL (https:// assumed when missing); FeedMisconfigured when there is none."""
    parts = urlsplit(feed_url if "://" in feed_url else f"https://{feed_url}")
    if not parts.netloc:
        raise FeedMisconfigured(f"{source}: --feed {feed_url!r} is not a URL such as {example}")
    return f"{parts.scheme}://{parts.netloc}"
