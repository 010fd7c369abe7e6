"""What the emulator keeps of a user's Entra password so a simulated sign-in can be checked: an HMAC-SHA256
under a per-process random key. The password itself is never stored, persisted or returned; after a restart
every stored password is unknown (a JIT user's random password is unknown to everyone anyway).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


class PasswordBook:
    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._digests: dict[str, bytes] = {}

    def _digest(self, password: str) -> bytes:
        return hmac.new(self._key, password.encode("utf-8"), hashlib.sha256).digest()

    def remember(self, user_id: str, password: str | None) -> None:
        if isinstance(password, str) and password:
            self._digests[user_id] = self._digest(password)

    def matches(self, user_id: str, password: str) -> bool:
        stored = self._digests.get(user_id)
        return stored is not None and hmac.compare_digest(stored, self._digest(password))

    def forget(self, user_id: str) -> None:
        self._digests.pop(user_id, None)

    def clear(self) -> None:
        self._digests.clear()
