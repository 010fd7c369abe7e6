"""find_long_tail: the users still waiting for JIT — flag true in the tenant and a hash in the vault.

In: the tenant as pages of Graph users (flag, legacy id attribute, mail and identities selected) and the
vault's `holds_many`. Out: one list of LongTailUser per tenant page (bounded memory). Read-only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class LongTailUser:
    object_id: str
    legacy_id: str | None
    email: str | None  # mail, or the emailAddress sign-in name: where email-otp sends the passcode
    display_name: str | None


def email_of(user: dict[str, Any]) -> str | None:
    if user.get("mail"):
        return str(user["mail"])
    for identity in user.get("identities") or ():
        if identity.get("signInType") == "emailAddress" and identity.get("issuerAssignedId"):
            return str(identity["issuerAssignedId"])
    return None


async def find_long_tail(
    pages: AsyncIterator[list[dict[str, Any]]], holds: Callable[[Sequence[str]], set[str]], flag: str,
    legacy_attribute: str | None,
) -> AsyncIterator[list[LongTailUser]]:  # fmt: skip
    async for page in pages:
        flagged = [u for u in page if u.get(flag) is True]
        held = holds([str(u["id"]) for u in flagged])
        yield [
            LongTailUser(str(u["id"]), u.get(legacy_attribute) if legacy_attribute else None, email_of(u),
                         u.get("displayName"))
            for u in flagged
            if str(u["id"]) in held
        ]
