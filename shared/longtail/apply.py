"""apply_long_tail: journal the users, write the policy to Entra, clear the flag, purge the vaulted hash.

In: the long-tail users (find_long_tail's pages), the policy, the directory (PATCH /users/{id}; POST
/users/{id}/authentication/emailMethods for email-otp), the vault and the journal. Out: LongTailOutcome.
Order per user: journal `planned` → Entra write → journal `applied` → vault delete → journal `purged`.
Resumable: rows left `planned` or `applied` by a crash are redone first (every step is idempotent); a
permanent Graph refusal leaves the row `planned` with its code in `detail` and the hash in the vault.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from shared.longtail.find import LongTailUser
from shared.longtail.journal import LongTailJournal
from shared.longtail.policy import Policy, policy_patch
from shared.sync.errors import GraphBusy, UserGone, WriteRejected

logger = logging.getLogger(__name__)
CONCURRENCY = 8


class PolicyWriter(Protocol):
    """The writes the long tail needs (SyncDirectory implements it through the import's budgets)."""

    async def update_user(self, object_id: str, patch: dict[str, Any]) -> None: ...
    async def ensure_email_method(self, object_id: str, address: str) -> None: ...


class HashPurger(Protocol):
    async def delete(self, object_id: str) -> None: ...


@dataclass
class LongTailOutcome:
    planned: int = 0
    purged: int = 0
    gone: int = 0  # deleted from the tenant meanwhile: hash purged all the same
    refused: dict[str, int] = field(default_factory=dict)  # Graph code → users left for a retry
    busy: int = 0  # Graph throttled or unavailable after retries: run again


async def _one(row_id: str, email: str | None, policy: Policy, state: str, flag: str, writer: PolicyWriter,
               vault: HashPurger, journal: LongTailJournal, outcome: LongTailOutcome) -> None:  # fmt: skip
    try:
        if state == "planned":
            if policy == "email-otp":
                if not email:
                    raise WriteRejected("no_email", "the user has no email address for a one-time passcode")
                await writer.ensure_email_method(row_id, email)
            await writer.update_user(row_id, policy_patch(policy, flag))
            journal.mark(row_id, "applied")
    except UserGone:
        outcome.gone += 1
    except WriteRejected as exc:
        outcome.refused[exc.code] = outcome.refused.get(exc.code, 0) + 1
        journal.mark(row_id, "planned", exc.code)
        return
    except GraphBusy:
        outcome.busy += 1
        return
    await vault.delete(row_id)
    journal.mark(row_id, "purged")
    outcome.purged += 1


async def apply_long_tail(
    users: AsyncIterator[Sequence[LongTailUser]], policy: Policy, flag: str, writer: PolicyWriter,
    vault: HashPurger, journal: LongTailJournal,
) -> LongTailOutcome:  # fmt: skip
    outcome = LongTailOutcome()
    async for page in users:
        journal.plan([(u.object_id, u.legacy_id, u.email, policy) for u in page])
        outcome.planned += len(page)
    after = ""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def bounded(*args: Any) -> None:
        async with gate:
            await _one(*args)

    while rows := journal.open_rows(after):
        await asyncio.gather(*(
            bounded(r.object_id, r.email, cast(Policy, r.policy), r.state, flag, writer, vault, journal, outcome)
            for r in rows
        ))  # fmt: skip
        after = rows[-1].object_id
    logger.info("long tail %s: %d purged, %d gone, %d refused, %d busy", policy, outcome.purged, outcome.gone,
                sum(outcome.refused.values()), outcome.busy)  # fmt: skip
    return outcome
