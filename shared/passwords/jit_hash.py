"""The hash the JIT endpoint verifies for a user: the exported one, or one derived from a plaintext Entra refused.

Deriving is PBKDF2-SHA256 at 27,500 iterations (~12 ms of CPU per user). It never runs on the event loop:
`start_jit_hashes` hands a chunk's derivations to a pool of its own threads (hashlib releases the GIL, so
they use every core while the loop keeps sending), and the import starts them before the chunk's creates
leave, so they overlap its writes; `JitHashes.wait()` collects them once the object ids are known, and
leaving its `with` block drops the ones not started. The pool is the derivation's alone: the default
executor's threads (quota draws, chunk reads) never queue behind hashes.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import secrets
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from pydantic import SecretStr

from shared.records import LegacyUser, PasswordHash

JIT_PBKDF2_ITERATIONS = 27_500
DERIVE_THREADS = max(1, min(4, os.cpu_count() or 1))
DERIVE_PER_TASK = 8  # users per pool task: small enough to spread over the threads, big enough to be cheap
_pool = ThreadPoolExecutor(max_workers=DERIVE_THREADS, thread_name_prefix="jit-hash")


def needs_derivation(user: LegacyUser) -> bool:
    return user.password is not None and user.password.hash is None and user.password.plaintext is not None


def jit_hash(user: LegacyUser) -> PasswordHash | None:
    """The user's exported hash, or a fresh salted PBKDF2 of their plaintext; None without a password. CPU-bound."""
    password = user.password
    if password is None:
        return None
    if password.hash is not None:
        return password.hash
    if password.plaintext is None:
        return None
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.plaintext.get_secret_value().encode(), salt, JIT_PBKDF2_ITERATIONS)
    return PasswordHash(
        algorithm="pbkdf2-sha256",
        value=SecretStr(base64.b64encode(digest).decode()),
        salt=SecretStr(base64.b64encode(salt).decode()),
        params={"iterations": JIT_PBKDF2_ITERATIONS},
    )


Derive = Callable[[LegacyUser], PasswordHash | None]


def _derive_all(derive: Derive, users: Sequence[LegacyUser]) -> list[PasswordHash | None]:
    return [derive(u) for u in users]


class JitHashes:
    """A chunk's JIT hashes by legacy id, derived in the pool from the moment `start_jit_hashes` returns."""

    def __init__(self, users: Sequence[LegacyUser], derive: Derive = jit_hash) -> None:
        self._ready = {u.legacy_id: jit_hash(u) for u in users if not needs_derivation(u)}
        todo = [u for u in users if needs_derivation(u)]
        loop = asyncio.get_running_loop()
        self._parts = [todo[i : i + DERIVE_PER_TASK] for i in range(0, len(todo), DERIVE_PER_TASK)]
        self._futures = [loop.run_in_executor(_pool, _derive_all, derive, part) for part in self._parts]

    async def wait(self) -> dict[str, PasswordHash | None]:
        """Every user's hash (None: no password), once all derivations are done."""
        derived = await asyncio.gather(*self._futures)
        found = dict(self._ready)
        for part, hashes in zip(self._parts, derived, strict=True):
            found.update((u.legacy_id, h) for u, h in zip(part, hashes, strict=True))
        return found

    def cancel(self) -> None:
        """Drop derivations not started yet (the attempt ended without them); running ones finish unread."""
        for future in self._futures:
            future.cancel()

    def __enter__(self) -> JitHashes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()


def start_jit_hashes(users: Sequence[LegacyUser], derive: Derive = jit_hash) -> JitHashes:
    """Start deriving `users`' JIT hashes off the event loop (`derive` is the seam); call from a running loop."""
    return JitHashes(users, derive)


async def jit_hashes(users: Sequence[LegacyUser]) -> list[PasswordHash | None]:
    """`jit_hash` for each user, in order; derivations run off the event loop, on the pool's threads."""
    found = await start_jit_hashes(users).wait()
    return [found[u.legacy_id] for u in users]
