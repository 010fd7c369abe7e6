"""The JIT decision: given who signs in (Entra object id), the Entra correlation id and the decrypted password,
answer exactly one action. No I/O besides the vault and the state store; the HTTP layer lives in service.py.

* Same correlation id + same password (Entra's retry) → the earlier decision, failures counted once.
* Locked account → Block (no verification). Over the global rate, or too many verifications already running
  → throttled (no verification; the HTTP layer answers 429).
* Legacy account disabled → Block. No stored hash → a dummy verification (a decoy row's hash), then Retry
  like a wrong password (or the live legacy check, when configured). Every verification is padded to the
  slowest algorithm's recent cost (verify_cost): an unknown user costs what a known one does, whatever mix
  of algorithms the vault holds. Right password → MigratePassword (hash deleted) or, when it
  fails Entra's policy, UpdatePassword (hash kept until the user completes the reset).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

import bcrypt
from pydantic import SecretStr

from shared.config import JitSettings
from shared.jit.attempts import AttemptStore, SqliteAttempts
from shared.jit.lockout import Lockouts, SqliteLockouts
from shared.jit.password_context import PasswordContext
from shared.jit.policy import meets_entra_policy
from shared.jit.protocol import Action
from shared.jit.rate_limit import TokenBucket
from shared.jit.state import JitStateStore
from shared.jit.verify_cost import VerifyCost
from shared.passwords import MalformedHash, UnsupportedHash, verify
from shared.ports import Telemetry
from shared.records import PasswordHash
from shared.vault import Lookup

logger = logging.getLogger(__name__)

LiveResult = Literal["valid", "invalid", "blocked"]


class JitVault(Protocol):
    """What the decision needs from the vault (SqliteCredentialVault implements it)."""

    async def lookup(self, object_id: str) -> Lookup: ...
    async def delete(self, object_id: str) -> None: ...


class LegacyPasswordCheck(Protocol):
    """Optional live check against the legacy system, for users without an exported hash (off by default)."""

    async def check(self, *, object_id: str, username: str | None, password: SecretStr) -> LiveResult: ...


Verifier = Callable[[str, PasswordHash], bool]


@dataclass(frozen=True)
class Decision:
    """`action` None means throttled: answer 429 and verify nothing."""

    action: Action | None
    reason: str
    title: str | None = None
    message: str | None = None


class PasswordDecider:
    def __init__(
        self,
        settings: JitSettings,
        vault: JitVault,
        state: JitStateStore | None,
        telemetry: Telemetry,
        *,
        attempt_key: bytes,
        verifier: Verifier = verify,
        live_check: LegacyPasswordCheck | None = None,
        rate_limit: TokenBucket | None = None,
        clock: Callable[[], float] = time.time,
        lockouts: Lockouts | None = None,
        attempts: AttemptStore | None = None,
    ) -> None:
        self._settings = settings
        self._vault = vault
        if state is None and (lockouts is None or attempts is None):
            raise ValueError("without a local JitStateStore, give both lockouts and attempts")
        # Shared by every instance in Azure (TableLockouts, TableAttempts): the threshold is per account, and
        # Entra's retry finds the first delivery's decision whatever instance it reaches.
        self._lockouts = lockouts or SqliteLockouts(state)  # type: ignore[arg-type]
        self._attempts = attempts or SqliteAttempts(state)  # type: ignore[arg-type]
        self._telemetry = telemetry
        self._attempt_key = attempt_key
        self._verifier = verifier
        self._live_check = live_check if settings.LIVE_CHECK_ENABLED else None
        self._rate = rate_limit or TokenBucket(settings.RATE_LIMIT_PER_S, settings.RATE_LIMIT_BURST)
        self._clock = clock
        self._inflight: dict[bytes, asyncio.Future[Decision]] = {}
        self._dummy: PasswordHash | None = None
        self._cost = VerifyCost()
        self._last_purge = 0.0
        self._purging: asyncio.Task[None] | None = None
        self._verifying = 0

    async def warm(self) -> None:
        """Build the empty-vault dummy hash ahead of the first sign-in (bcrypt at DUMMY_BCRYPT_COST)."""
        await self._dummy_hash()

    async def decide(self, object_id: str, correlation_id: str, context: PasswordContext) -> Decision:
        fingerprint = self._fingerprint(object_id, correlation_id, context.password)
        running = self._inflight.get(fingerprint)
        if running is not None:  # Entra retried while we were still verifying the first delivery
            return _replayed(await asyncio.shield(running))
        future: asyncio.Future[Decision] = asyncio.get_running_loop().create_future()
        self._inflight[fingerprint] = future
        try:
            decision = await self._decide_once(object_id, correlation_id, fingerprint, context)
            future.set_result(decision)
            return decision
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: a retry may never come to await it
            raise
        finally:
            del self._inflight[fingerprint]

    async def _decide_once(
        self, object_id: str, correlation_id: str, fingerprint: bytes, context: PasswordContext
    ) -> Decision:
        now = self._clock()
        self._purge(now)
        prior = await self._attempts.claim(
            correlation_id, fingerprint, object_id, now, window_s=self._settings.RETRY_WINDOW_S
        )
        if prior is not None and prior.action is not None:
            return _replayed(self._with_texts(Action(prior.action), prior.reason or "replayed"))
        count_failures = prior is None  # an unsettled prior: another instance is deciding and will count it
        if await self._lockouts.locked(object_id, now):
            decision = self._with_texts(Action.BLOCK, "locked_out")
        elif self._verifying >= self._settings.MAX_CONCURRENT_VERIFICATIONS or not self._rate.try_take():
            await self._attempts.release(correlation_id, fingerprint)
            return Decision(None, "overloaded" if self._verifying else "throttled")
        else:
            self._verifying += 1
            try:
                decision = await self._verify(object_id, context, count_failures, now)
            finally:
                self._verifying -= 1
        await self._attempts.settle(correlation_id, fingerprint, decision.action or "", decision.reason)
        return decision

    async def _verify(self, object_id: str, context: PasswordContext, count_failures: bool, now: float) -> Decision:
        lookup = await self._vault.lookup(object_id)
        credential = lookup.credential
        if credential is not None and credential.disabled:
            return self._with_texts(Action.BLOCK, "legacy_disabled")
        if credential is None and self._live_check is not None:
            live = await self._live_check.check(
                object_id=object_id, username=context.username, password=context.password
            )
            if live == "blocked":
                return self._with_texts(Action.BLOCK, "legacy_blocked")
            return await self._settle_check(object_id, context, live == "valid", "live_check", count_failures, now)
        target = lookup.timing_hash or await self._dummy_hash()
        started = time.perf_counter()
        try:
            matched = await asyncio.to_thread(self._verifier, context.password.get_secret_value(), target)
            reason = "verified" if matched else "wrong_password"
        except (MalformedHash, UnsupportedHash) as exc:
            matched, reason = False, "malformed_hash" if isinstance(exc, MalformedHash) else "unsupported_hash"
            logger.warning("stored hash for a user could not be verified (%s)", type(exc).__name__)
        elapsed = time.perf_counter() - started
        self._telemetry.measure("jit.verify_ms", elapsed * 1000, algorithm=target.algorithm)
        await self._cost.pad(target.algorithm, elapsed)
        if credential is None:  # the dummy verification only spends the same time; its result means nothing
            matched, reason = False, "no_credential"
        return await self._settle_check(object_id, context, matched, reason, count_failures, now)

    async def _settle_check(
        self, object_id: str, context: PasswordContext, matched: bool, reason: str, count: bool, now: float
    ) -> Decision:
        if not matched:
            if count:
                await self._lockouts.record_failure(
                    object_id,
                    now,
                    threshold=self._settings.LOCKOUT_THRESHOLD,
                    window_s=self._settings.LOCKOUT_WINDOW_S,
                    lock_s=self._settings.LOCKOUT_DURATION_S,
                )
            return Decision(Action.RETRY, reason)
        await self._lockouts.clear_failures(object_id)
        if not meets_entra_policy(context.password.get_secret_value()):
            return Decision(Action.UPDATE_PASSWORD, "weak_password")
        # Entra stores the password and clears the migration flag: the legacy hash has no further use.
        await self._vault.delete(object_id)
        return Decision(Action.MIGRATE_PASSWORD, reason)

    def _with_texts(self, action: Action, reason: str) -> Decision:
        if action is not Action.BLOCK:
            return Decision(action, reason)
        if reason == "locked_out":
            return Decision(action, reason, self._settings.LOCKOUT_TITLE, self._settings.LOCKOUT_MESSAGE)
        return Decision(action, reason, self._settings.BLOCK_TITLE, self._settings.BLOCK_MESSAGE)

    def _fingerprint(self, object_id: str, correlation_id: str, password: SecretStr) -> bytes:
        message = "\x00".join((correlation_id, object_id, password.get_secret_value())).encode("utf-8")
        return hmac.new(self._attempt_key, message, hashlib.sha256).digest()

    async def _dummy_hash(self) -> PasswordHash:
        if self._dummy is None:
            cost = self._settings.DUMMY_BCRYPT_COST
            value = await asyncio.to_thread(bcrypt.hashpw, secrets.token_bytes(16), bcrypt.gensalt(cost))
            self._dummy = PasswordHash(algorithm="bcrypt", value=SecretStr(value.decode("ascii")))
        return self._dummy

    def _purge(self, now: float) -> None:
        """At most once a minute, drop retry rows past the window, off the sign-in's path (claims honour the
        window on read, so a late purge only costs storage)."""
        if now - self._last_purge > 60 and (self._purging is None or self._purging.done()):
            self._last_purge = now
            self._purging = asyncio.get_running_loop().create_task(
                self._purge_quietly(now - self._settings.RETRY_WINDOW_S)
            )

    async def _purge_quietly(self, older_than: float) -> None:
        try:
            await self._attempts.purge(older_than)
        except Exception as exc:  # a failed purge never fails a sign-in; the next minute tries again
            logger.warning("retry-dedupe purge failed (%s)", type(exc).__name__)

    async def close(self) -> None:
        """Wait for a purge still running (before the store under it is closed)."""
        if self._purging is not None:
            await self._purging


def _replayed(decision: Decision) -> Decision:
    return Decision(decision.action, "retry_replayed", decision.title, decision.message)
