"""GraphDirectory: the Directory port over msgraph-sdk, writing through $batch within a throttle budget.

Creates go out in $batch requests of up to 20, spread over one or more app registrations ("lanes"),
each paced by its own ThrottleBudget plus one tenant-wide budget. Per item: 201 → created; 400 with
an ObjectConflict detail → conflict; 429 → that lane waits Retry-After, the item is re-sent in a
later round while the inline retry budget lasts, else returned as throttled; 5xx / lost answers →
retried a few times, else returned as transient. Only failed items are ever re-sent, and never blindly
after an ambiguous failure (500/502/504, a lost answer, a whole-`$batch` 5xx: the write may have
committed): the identity is looked up first, found → created (ours), not found → re-sent. This is the
only retry layer; the SDK's RetryHandler is not in the middleware (client.py).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from azure.core.credentials_async import AsyncTokenCredential
from azure.core.exceptions import ClientAuthenticationError
from kiota_abstractions.api_error import APIError
from kiota_abstractions.method import Method
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.graph_service_client import GraphServiceClient

from shared.adapters.graph.auth_methods import AuthMethods
from shared.adapters.graph.budget import WriteBudget
from shared.adapters.graph.errors import GraphAccessDenied
from shared.adapters.graph.json_calls import get_json, send_json, values
from shared.auth_methods import MethodKind
from shared.errors import ExtensionTypeConflict
from shared.ports import CreateResult, MethodAnswer, MethodPost
from shared.records import ObjectIdentity, TargetUser

logger = logging.getLogger(__name__)
T = TypeVar("T")

BATCH_LIMIT = 20
AMBIGUOUS_STATUSES = frozenset({500, 502, 504})  # the write may have committed before the error
TRANSIENT_STATUSES = AMBIGUOUS_STATUSES | {503}
ACCESS_DENIED = frozenset({401, 403})  # permanent: GraphAccessDenied stops the run
MAX_BACKOFF_S = 20.0
ERROR_MAP: dict[str, Any] = {"XXX": ODataError}


@dataclass
class AppLane:
    """One app registration: its Graph client and its share of the write quota."""

    app_id: str
    client: GraphServiceClient
    budget: WriteBudget
    concurrency: int = 4
    credential: AsyncTokenCredential | None = None  # closed with the directory
    scope: str = "https://graph.microsoft.com/.default"


@dataclass
class _Round:
    pending: dict[str, TargetUser]
    results: dict[str, CreateResult] = field(default_factory=dict)
    retry: dict[str, TargetUser] = field(default_factory=dict)
    retry_after: dict[str, float] = field(default_factory=dict)
    ambiguous_now: set[str] = field(default_factory=set)  # failed ambiguously in this round: look up first
    unadmitted: int = 0  # batches of this round still waiting for their budget
    on_admitted: Callable[[], None] | None = None  # called once every batch of the round has its budget

    def admitted(self) -> None:
        self.unadmitted -= 1
        if self.unadmitted <= 0 and self.on_admitted is not None:
            self.on_admitted()


class _Turn:
    """One create_users call's turn on the budgets: handed on to the next call once, however often asked."""

    def __init__(self, lock: asyncio.Lock) -> None:
        self._lock: asyncio.Lock | None = lock

    def hand_on(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None


def _quote(value: str) -> str:
    return value.replace("'", "''")


def _retry_after(headers: dict[str, Any] | None) -> float | None:
    if not headers:
        return None
    for key, value in headers.items():
        if key.lower() == "retry-after":
            try:
                return max(0.0, float(value[0] if isinstance(value, list) else value))
            except (TypeError, ValueError):
                return None
    return None


def _error_codes(body: Any) -> tuple[str | None, list[str], str | None]:
    """(error.code, [details[].code], error.message) from a Graph error body."""
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return None, [], None
    error = body["error"]
    details = [str(d["code"]) for d in error.get("details") or [] if isinstance(d, dict) and d.get("code")]
    code, message = error.get("code"), error.get("message")
    return (str(code) if code else None), details, (str(message) if message else None)


class GraphDirectory:
    def __init__(
        self,
        lanes: Sequence[AppLane],
        tenant_budget: WriteBudget,
        *,
        inline_retry_budget_s: float = 30.0,
        max_transient_retries: int = 3,
        backoff_base_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not lanes:
            raise ValueError("at least one app registration is needed")
        self.lanes = list(lanes)
        self.tenant_budget = tenant_budget
        self.inline_retry_budget_s = inline_retry_budget_s
        self.max_transient_retries = max_transient_retries
        self.backoff_base_s = backoff_base_s
        self._clock = clock
        self._next_lane = 0
        self._turn = asyncio.Lock()  # whose first round is drawing on the budgets (see create_users)
        self.requests_sent = 0
        self.items_throttled = 0
        self.ambiguous_lookups = 0
        self.resolved_by_lookup = 0

    @property
    def _reader(self) -> GraphServiceClient:
        return self.lanes[0].client

    # -- creates ---------------------------------------------------------------------------------------
    async def create_users(self, users: Sequence[TargetUser]) -> list[CreateResult]:
        """Concurrent calls take turns: each call's first round draws on the budgets alone, in arrival order, and
        hands the turn on as soon as its last batch has its budget. So one chunk's writes finish while the next
        one's are already queued behind them, instead of all chunks in flight finishing (and then all doing
        their ledger and vault work, with the budget idle) at the same moment."""
        await self._turn.acquire()
        turn = _Turn(self._turn)
        try:
            return await self._create(users, turn.hand_on)
        finally:
            turn.hand_on()

    async def _create(self, users: Sequence[TargetUser], hand_on: Callable[[], None]) -> list[CreateResult]:
        pending = {u.legacy_id: u for u in users}
        final: dict[str, CreateResult] = {}
        ambiguous: set[str] = set()
        transient_attempts: dict[str, int] = {}
        deadline = self._clock() + self.inline_retry_budget_s
        while pending:
            rnd = _Round(pending, on_admitted=hand_on)
            await self._send_round(rnd, ambiguous, transient_attempts)
            hand_on()  # retry rounds (429s, transient errors) never hold the turn
            final.update(rnd.results)
            pending = rnd.retry
            if rnd.ambiguous_now & pending.keys():
                pending = await self._resolve_ambiguous(pending, rnd.ambiguous_now, final)
            if not pending:
                break
            wait = max(rnd.retry_after.values(), default=0.0)
            if self._clock() + wait > deadline:
                for legacy_id in pending:
                    if legacy_id in rnd.retry_after:
                        final[legacy_id] = CreateResult(
                            legacy_id=legacy_id, status="throttled", retry_after=rnd.retry_after[legacy_id],
                            error_code="TooManyRequests", message="throttled by Graph; continue after Retry-After",
                        )  # fmt: skip
                    else:
                        final[legacy_id] = CreateResult(
                            legacy_id=legacy_id, status="transient", error_code="ServiceUnavailable",
                            message="Graph did not answer in time",
                        )  # fmt: skip
                break
            # Lanes that were told Retry-After are blocked by their budget; only transient ones back off here.
            transient_wait = [self._backoff(transient_attempts.get(i, 1)) for i in pending if i not in rnd.retry_after]
            if transient_wait:
                await asyncio.sleep(max(transient_wait))
        for legacy_id, result in list(final.items()):
            if result.status == "conflict" and legacy_id in ambiguous:
                final[legacy_id] = result.model_copy(update={"ambiguous_retry": True})
        return [final[u.legacy_id] for u in users]

    async def _resolve_ambiguous(
        self, pending: dict[str, TargetUser], ambiguous_now: set[str], final: dict[str, CreateResult]
    ) -> dict[str, TargetUser]:
        """Look up every user whose create may have committed; found → created, else still to send."""
        gate = asyncio.Semaphore(8)

        async def look(user: TargetUser) -> tuple[str, str | None, bool]:
            async with gate:
                try:
                    return user.legacy_id, await self.find_user_by_identity(user.primary_identity), True
                except (APIError, TimeoutError, httpx.TransportError) as exc:  # GraphAccessDenied propagates
                    logger.warning("identity lookup after an ambiguous write failed (%s)", type(exc).__name__)
                    return user.legacy_id, None, False

        self.ambiguous_lookups += len(ambiguous_now & pending.keys())
        looked = await asyncio.gather(*(look(u) for i, u in pending.items() if i in ambiguous_now))
        still = dict(pending)
        for legacy_id, object_id, answered in looked:
            if object_id is not None:
                self.resolved_by_lookup += 1
                final[legacy_id] = CreateResult(legacy_id=legacy_id, status="created", object_id=object_id)
                del still[legacy_id]
            elif not answered:
                # Unknown whether it committed and no lookup possible now: never re-send blind. The
                # continuation re-sends under the ledger's pending intent (conflict → ours).
                final[legacy_id] = CreateResult(
                    legacy_id=legacy_id, status="transient", error_code="LookupFailed",
                    message="Graph did not answer the identity lookup after an ambiguous write",
                )  # fmt: skip
                del still[legacy_id]
        return still

    def _backoff(self, attempt: int) -> float:
        return float(min(self.backoff_base_s * (2 ** (attempt - 1)), MAX_BACKOFF_S) * (0.5 + random.random()))

    async def _send_round(self, rnd: _Round, ambiguous: set[str], transient_attempts: dict[str, int]) -> None:
        items = list(rnd.pending.values())
        batches: asyncio.Queue[list[TargetUser]] = asyncio.Queue()
        for start in range(0, len(items), BATCH_LIMIT):
            batches.put_nowait(items[start : start + BATCH_LIMIT])
        rnd.unadmitted = batches.qsize()

        async def lane_worker(lane: AppLane) -> None:
            while True:
                try:
                    batch = batches.get_nowait()
                except asyncio.QueueEmpty:
                    return
                await self._send_batch(lane, batch, rnd, ambiguous, transient_attempts)

        workers = [
            lane_worker(lane)
            for lane in self._lane_order()
            for _ in range(min(lane.concurrency, max(1, batches.qsize())))
        ]
        await asyncio.gather(*workers)

    def _lane_order(self) -> list[AppLane]:
        # Rotate so concurrent calls don't all start on the first app registration.
        self._next_lane = (self._next_lane + 1) % len(self.lanes)
        return self.lanes[self._next_lane :] + self.lanes[: self._next_lane]

    async def _send_batch(
        self,
        lane: AppLane,
        batch: list[TargetUser],
        rnd: _Round,
        ambiguous: set[str],
        transient_attempts: dict[str, int],
    ) -> None:
        await lane.budget.acquire(len(batch))
        await self.tenant_budget.acquire(len(batch))
        rnd.admitted()
        body = {
            "requests": [
                {
                    "id": str(index),
                    "method": "POST",
                    "url": "/users",
                    "headers": {"Content-Type": "application/json"},
                    "body": user.graph_body(),
                }
                for index, user in enumerate(batch)
            ]
        }
        self.requests_sent += 1
        try:
            raw = await self._post_batch(lane.client, body)
        except ClientAuthenticationError as exc:
            raise GraphAccessDenied(lane.app_id, None, _auth_reason(exc)) from None
        except APIError as exc:
            status = exc.response_status_code or 0
            if status in ACCESS_DENIED:
                raise GraphAccessDenied(lane.app_id, status) from None
            if status == 429:
                wait = _retry_after(exc.response_headers) or self._backoff(2)
                lane.budget.block_for(wait)
                for user in batch:
                    rnd.retry[user.legacy_id] = user
                    rnd.retry_after[user.legacy_id] = wait
                return
            self._transient(batch, status, rnd, ambiguous, transient_attempts)
            return
        except (TimeoutError, httpx.TransportError):
            self._transient(batch, 504, rnd, ambiguous, transient_attempts)
            return
        responses = {str(r.get("id")): r for r in (raw.get("responses") or []) if isinstance(r, dict)}
        for index, user in enumerate(batch):
            item = responses.get(str(index))
            if item is None:
                self._transient([user], 504, rnd, ambiguous, transient_attempts)
                continue
            self._classify(lane, user, item, rnd, ambiguous, transient_attempts)

    async def _post_batch(self, client: GraphServiceClient, body: dict[str, Any]) -> dict[str, Any]:
        return await send_json(client, Method.POST, "$batch", body=body)

    def _classify(
        self,
        lane: AppLane,
        user: TargetUser,
        item: dict[str, Any],
        rnd: _Round,
        ambiguous: set[str],
        transient_attempts: dict[str, int],
    ) -> None:
        status = int(item.get("status") or 0)
        body = item.get("body")
        legacy_id = user.legacy_id
        if status in (200, 201):
            object_id = body.get("id") if isinstance(body, dict) else None
            rnd.results[legacy_id] = CreateResult(legacy_id=legacy_id, status="created", object_id=object_id)
            return
        code, details, message = _error_codes(body)
        if status in ACCESS_DENIED:
            raise GraphAccessDenied(lane.app_id, status, "User.ReadWrite.All")
        if status == 400 and "ObjectConflict" in details:
            rnd.results[legacy_id] = CreateResult(legacy_id=legacy_id, status="conflict", error_code="ObjectConflict")
            return
        if status == 429:
            self.items_throttled += 1
            wait = _retry_after(item.get("headers")) or self._backoff(2)
            lane.budget.block_for(wait)
            rnd.retry[legacy_id] = user
            rnd.retry_after[legacy_id] = wait
            return
        if status in TRANSIENT_STATUSES:
            self._transient([user], status, rnd, ambiguous, transient_attempts)
            return
        rnd.results[legacy_id] = CreateResult(
            legacy_id=legacy_id,
            status="rejected",
            error_code=(details[0] if details else code) or f"HTTP{status}",
            message=_safe_message(message, status),
        )

    def _transient(
        self,
        batch: Sequence[TargetUser],
        status: int,
        rnd: _Round,
        ambiguous: set[str],
        transient_attempts: dict[str, int],
    ) -> None:
        for user in batch:
            legacy_id = user.legacy_id
            if status in AMBIGUOUS_STATUSES:
                ambiguous.add(legacy_id)
                rnd.ambiguous_now.add(legacy_id)
            attempt = transient_attempts.get(legacy_id, 0) + 1
            transient_attempts[legacy_id] = attempt
            if attempt <= self.max_transient_retries:
                rnd.retry[legacy_id] = user
            else:
                rnd.results[legacy_id] = CreateResult(
                    legacy_id=legacy_id, status="transient", error_code=f"HTTP{status}",
                    message=f"Graph answered {status} {attempt} times",
                )  # fmt: skip

    # -- reads and setup -------------------------------------------------------------------------------
    async def _with_retries(self, call: Callable[[], Awaitable[T]], attempts: int = 5) -> T:
        """Run one Graph read or setup call, retrying throttling, 5xx and lost answers with backoff."""
        for attempt in range(1, attempts + 1):
            try:
                return await call()
            except ClientAuthenticationError as exc:
                raise GraphAccessDenied(self.lanes[0].app_id, None, _auth_reason(exc)) from None
            except APIError as exc:
                status = exc.response_status_code or 0
                if status in ACCESS_DENIED:
                    raise GraphAccessDenied(self.lanes[0].app_id, status) from None
                if attempt == attempts or (status != 429 and status not in TRANSIENT_STATUSES):
                    raise
                await asyncio.sleep(_retry_after(exc.response_headers) or self._backoff(attempt))
            except (TimeoutError, httpx.TransportError):
                if attempt == attempts:
                    raise
                await asyncio.sleep(self._backoff(attempt))
        raise AssertionError("unreachable")

    async def find_user_by_identity(self, identity: ObjectIdentity) -> str | None:
        return await self._with_retries(lambda: self._find_user_by_identity(identity))

    async def _find_user_by_identity(self, identity: ObjectIdentity) -> str | None:
        query = {
            "$filter": f"identities/any(c:c/issuerAssignedId eq '{_quote(identity.issuer_assigned_id)}'"
            f" and c/issuer eq '{_quote(identity.issuer)}')",
            "$select": "id",
            "$top": "1",
        }
        users = values(await get_json(self._reader, "users", query))
        return str(users[0]["id"]) if users and users[0].get("id") else None

    # -- MFA methods (auth_methods.py) ---------------------------------------------------------------
    async def list_methods(self, object_id: str, kind: MethodKind) -> dict[str, str] | MethodAnswer:
        return await AuthMethods(
            self.lanes[0].app_id, self._reader, self.lanes[0].budget, self.tenant_budget
        ).list_methods(object_id, kind)

    async def add_methods(self, posts: Sequence[MethodPost]) -> list[MethodAnswer]:
        """20 a `$batch`, the batches spread over the lanes like creates (each lane's concurrency at most)."""
        batches = [posts[i : i + BATCH_LIMIT] for i in range(0, len(posts), BATCH_LIMIT)]
        lanes = self._lane_order()
        gates = [asyncio.Semaphore(lane.concurrency) for lane in lanes]

        async def send(index: int, batch: Sequence[MethodPost]) -> list[MethodAnswer]:
            lane = lanes[index % len(lanes)]
            async with gates[index % len(lanes)]:
                self.requests_sent += 1
                return await AuthMethods(lane.app_id, lane.client, lane.budget, self.tenant_budget).post_batch(batch)

        answered = await asyncio.gather(*(send(i, b) for i, b in enumerate(batches)))
        return [answer for batch in answered for answer in batch]

    async def ensure_extension_properties(self, names: dict[str, str]) -> None:
        if names:
            await self._with_retries(lambda: self._ensure_extension_properties(names))

    async def _ensure_extension_properties(self, names: dict[str, str]) -> None:
        app_id = next(iter(names)).split("_")[1]
        query = {"$filter": f"appId eq '{_hyphenate(app_id)}'", "$select": "id,appId"}
        apps = values(await get_json(self._reader, "applications", query))
        if not apps or not apps[0].get("id"):
            raise LookupError(f"no application with appId {_hyphenate(app_id)} (the b2c-extensions-app) in the tenant")
        path = f"applications/{quote(str(apps[0]['id']))}/extensionProperties"
        registered = values(await get_json(self._reader, path))
        have = {str(p["name"]).lower(): str(p.get("dataType") or "") for p in registered if p.get("name")}
        for full_name, data_type in names.items():  # every conflict before any write: a preflight
            tenant_type = have.get(full_name.lower())
            if tenant_type is not None and tenant_type.lower() != data_type.lower():
                raise ExtensionTypeConflict(full_name, tenant_type, data_type, full_name.split("_", 2)[2])
        for full_name, data_type in names.items():
            if full_name.lower() in have:
                continue
            short = full_name.split("_", 2)[2]
            try:
                body = {"name": short, "dataType": data_type, "targetObjects": ["User"]}
                await send_json(self._reader, Method.POST, path, body=body)
            except ODataError as exc:
                # Another instance (or our own earlier attempt that timed out after commit) registered it.
                if not _is_object_conflict(exc):
                    raise
                logger.info("extension property %s was already registered", full_name)
                continue
            logger.info("registered extension property %s (%s)", full_name, data_type)

    async def close(self) -> None:
        for lane in self.lanes:
            http = getattr(lane.client.request_adapter, "_http_client", None)
            if isinstance(http, httpx.AsyncClient):
                await http.aclose()
            if lane.credential is not None:
                await lane.credential.close()


def _auth_reason(exc: ClientAuthenticationError) -> str:
    """The AADSTS code line of a token failure (never the request, never a secret)."""
    text = str(exc.message or exc)
    marker = text.find("AADSTS")
    return (text[marker:].splitlines()[0] if marker >= 0 else type(exc).__name__)[:200]


def _is_object_conflict(exc: ODataError) -> bool:
    error = exc.error
    details = (error.details if error else None) or []
    return exc.response_status_code == 400 and any(d.code == "ObjectConflict" for d in details)


def _hyphenate(compact: str) -> str:
    if len(compact) != 32 or "-" in compact:
        return compact
    return f"{compact[:8]}-{compact[8:12]}-{compact[12:16]}-{compact[16:20]}-{compact[20:]}"


def _safe_message(message: str | None, status: int) -> str:
    # Graph's messages name properties, not values; still cap them so a body never lands in a report.
    return (message or f"HTTP {status}")[:300]
