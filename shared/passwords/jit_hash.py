"""The hash the JIT endpoint verifies for a user: the exported one, or one derived from a plaintext Entra refused.

Deriving is PBKDF2-SHA256 at 27,500 iterations (tens of ms per user): `jit_hashes` runs it in a worker
thread so the event loop — and every import lane's throttle budget — never waits on it. hashlib
releases the GIL while it derives, so the loop keeps sending while a chunk's hashes are made.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
from collections.abc import Sequence

from pydantic import SecretStr

from shared.records import LegacyUser, PasswordHash

JIT_PBKDF2_ITERATIONS = 27_500


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


async def jit_hashes(users: Sequence[LegacyUser]) -> list[PasswordHash | None]:
    """`jit_hash` for each user, in order; derivations run off the event loop."""
    if not any(u.password is not None and u.password.plaintext is not None for u in users):
        return [jit_hash(u) for u in users]  # nothing to derive: no thread hop
    return await asyncio.to_thread(lambda: [jit_hash(u) for u in users])
