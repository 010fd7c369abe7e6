"""The import chunk's second step: register the MFA methods of the chunk's users once they exist.

In: the chunk's users whose ledger row holds an object id. Out: per-method state in the ledger row
(shared/outcomes.py MethodState) and, for methods still open, the Retry-After to continue after.
Exactly once across redelivery, kill -9 and a 504 after commit: each attempt reads the user's methods
back before writing (unless we created the user and never sent it a method: it holds none) and writes only
the slots that are empty, the chunk's methods 20 to a `$batch` (Directory.add_methods) in rounds: mobiles and
emails, then the alternateMobiles whose mobile is in place. A method's `sent` intent is in the ledger before
its POST leaves, so a value found later after our own send counts as imported, not as already present; an
item answered anything but 201/429 is read back before it is sent again. Skipped methods (TOTP, a third
phone, a slot holding another value) carry a reason.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from shared.auth_methods import MethodKind, MethodWrite, graph_phone, plan_methods
from shared.handlers.chunk_progress import ChunkProgress
from shared.handlers.create_results import bounded_gather
from shared.outcomes import FINAL_METHOD_STATES, LedgerEntry, MethodOutcome, MethodState, Outcome
from shared.ports import Directory, MethodAnswer, MethodPost
from shared.reasons import Reason

logger = logging.getLogger(__name__)

INLINE_TRIES = 3  # POSTs of one method in one attempt, each after a read-back showed the slot empty
MAX_ROUNDS = 2 + 2 * INLINE_TRIES  # $batch rounds in one attempt: mobiles, then alternates, plus their retries
RETRY_DELAY_S = 0.2


@dataclass
class _UserMethods:
    legacy_id: str
    object_id: str
    entry: LedgerEntry
    states: dict[str, MethodOutcome]
    writes: list[MethodWrite]
    existing: dict[str, str] = field(default_factory=dict)
    waits: list[float] = field(default_factory=list)  # Retry-After of what stays open this attempt


def _same(write: MethodWrite, value: str) -> bool:
    if write.kind == "phone":
        return graph_phone(value.replace(" ", "")) == write.value
    return value.lower() == write.value.lower()


async def import_methods(progress: ChunkProgress, *, last_attempt: bool) -> list[float]:
    """Bring every method of the chunk's created users to a final state, or say how long until the next try.

    Returns one wait (seconds; 0 when Graph gave none) per user whose methods stay open.
    """
    users = await _users_with_methods(progress)
    if not users:
        return []
    directory = progress.ports.directory
    # A user we created and never sent a method for holds none: only the others need reading back.
    unsure = [u for u in users if u.entry.outcome != Outcome.CREATED or any(m.sent for m in u.states.values())]
    await bounded_gather([_read_back(directory, u, k) for u in unsure for k in {w.kind for w in u.writes}])
    for user in users:  # what the read-back settles needs no write
        _settle_present(user)
    sending = [u for u in users if not u.waits and _open(u)]
    for user in sending:  # checkpoint before emit: the intent to send is durable before a POST leaves
        for write in _open(user):
            user.states[write.key] = MethodOutcome(state=MethodState.PENDING, sent=True)
        _stage(progress, user)
    await progress.flush()
    await _write_rounds(directory, sending)
    waits: list[float] = []
    for user in users:
        still = _open(user)
        if still and last_attempt:
            for write in still:
                user.states[write.key] = MethodOutcome(state=MethodState.FAILED, code=Reason.GRAPH_UNAVAILABLE,
                                                       sent=user.states[write.key].sent)  # fmt: skip
        elif still:
            waits.append(max(user.waits, default=0.0))
        _stage(progress, user)
        for key, outcome in user.states.items():
            if outcome.state == MethodState.IMPORTED and user.entry.methods.get(key) != outcome:
                progress.ports.telemetry.count("mfa_methods_imported", 1, kind=key.split(":")[0])
    return waits


async def _users_with_methods(progress: ChunkProgress) -> list[_UserMethods]:
    command = progress.command
    with_mfa = [legacy_id for legacy_id, item in progress.entries.items() if item.user.mfa]
    if not with_mfa:
        return []
    rows = await progress.ports.ledger.get_many(command.source, with_mfa)
    users: list[_UserMethods] = []
    for legacy_id in with_mfa:
        entry = rows.get(legacy_id)
        if entry is None or entry.object_id is None or entry.outcome not in (Outcome.CREATED, Outcome.ALREADY_PRESENT):
            continue  # no account (failed, or still open): nothing to attach methods to yet
        plan = plan_methods(progress.entries[legacy_id].user)
        states = dict(entry.methods)
        for skip in plan.skips:
            if skip.key not in states:
                states[skip.key] = MethodOutcome(state=MethodState.SKIPPED, code=skip.code)
        writes = [w for w in plan.writes if states.get(w.key, _PENDING).state not in FINAL_METHOD_STATES]
        if writes or states != entry.methods:
            users.append(_UserMethods(legacy_id, entry.object_id, entry, states, writes))
    return users


_PENDING = MethodOutcome(state=MethodState.PENDING)
_SLOTS: dict[MethodKind, tuple[str, ...]] = {"phone": ("mobile", "alternateMobile", "office"), "email": ("email",)}


def _open(user: _UserMethods) -> list[MethodWrite]:
    return [w for w in user.writes if user.states.get(w.key, _PENDING).state not in FINAL_METHOD_STATES]


async def _read_back(directory: Directory, user: _UserMethods, kind: MethodKind) -> bool:
    """Refresh what the tenant holds of `kind`; False (with a wait noted) when Graph couldn't say."""
    found = await directory.list_methods(user.object_id, kind)
    if isinstance(found, MethodAnswer):
        user.waits.append(found.retry_after or 0.0)
        return False
    for slot in _SLOTS[kind]:
        user.existing.pop(slot, None)
    user.existing.update(found)
    return True


def _settle_present(user: _UserMethods) -> None:
    """Slots the tenant already fills: ours (imported) if we ever sent it, else already there or taken."""
    for write in _open(user):
        have = user.existing.get(write.slot)
        if have is None:
            continue
        sent = user.states.get(write.key, _PENDING).sent
        if _same(write, have):
            state = MethodState.IMPORTED if sent else MethodState.ALREADY_PRESENT
            user.states[write.key] = MethodOutcome(state=state, sent=sent)
        else:
            user.states[write.key] = MethodOutcome(state=MethodState.SKIPPED, code=Reason.MFA_SLOT_TAKEN, sent=sent)


async def _write_rounds(directory: Directory, users: list[_UserMethods]) -> None:
    """POST every open method through `$batch`, in rounds: each round sends what may go now (a mobile before its
    alternateMobile, so the alternate goes a round later), then reads back what didn't come back `added`."""
    tries: dict[tuple[str, str], int] = {}
    for rnd in range(MAX_ROUNDS):
        posts = [(user, write) for user in users if not user.waits for write in _sendable(user)]
        if not posts:
            return
        answers = await directory.add_methods([MethodPost(user.object_id, write) for user, write in posts])
        unsure: _Unsure = []
        for (user, write), answer in zip(posts, answers, strict=True):
            if answer.status == "added":
                user.existing[write.slot] = write.value
                user.states[write.key] = MethodOutcome(state=MethodState.IMPORTED, sent=True)
            elif answer.status == "throttled":
                user.waits.append(answer.retry_after or 0.0)
            else:
                unsure.append((user, write, answer))
        retry = await _settle_unsure(directory, unsure, tries)
        if retry:
            await asyncio.sleep(RETRY_DELAY_S * (rnd + 1))
    for user in users:
        if not user.waits and _sendable(user):
            user.waits.append(0.0)


def _sendable(user: _UserMethods) -> list[MethodWrite]:
    """The user's open methods that may be POSTed now; an alternateMobile whose mobile failed fails with it."""
    ready: list[MethodWrite] = []
    for write in _open(user):
        if write.slot == "alternateMobile" and "mobile" not in user.existing:
            mobile = user.states.get("phone:mobile")
            if mobile is not None and mobile.state == MethodState.FAILED:
                user.states[write.key] = MethodOutcome(state=MethodState.FAILED, code=Reason.MFA_NO_MOBILE, sent=True)
            continue  # else the mobile is still open: it goes first
        ready.append(write)
    return ready


_Unsure = list[tuple[_UserMethods, MethodWrite, MethodAnswer]]


async def _settle_unsure(directory: Directory, unsure: _Unsure, tries: dict[tuple[str, str], int]) -> bool:
    """Refused, ambiguous or unavailable: what does the tenant hold now? (a 504 may have committed; a 400 may be a
    slot our own earlier attempt filled). One read per (user, kind). True when some method is to be sent again."""
    reads = {(user.object_id, write.kind): (user, write.kind) for user, write, _ in unsure}
    done = await bounded_gather([_read_back(directory, user, kind) for user, kind in reads.values()])
    answered = {key for key, ok in zip(reads, done, strict=True) if ok}
    for user in {id(u): u for u, _, _ in unsure}.values():
        _settle_present(user)
    again = False
    for user, write, answer in unsure:
        if (user.object_id, write.kind) not in answered or user.states[write.key].state in FINAL_METHOD_STATES:
            continue  # Graph couldn't say (the user waits for the next attempt), or the read-back settled it
        if answer.status == "refused":
            code = answer.error_code or Reason.GRAPH_REJECTED
            user.states[write.key] = MethodOutcome(state=MethodState.FAILED, code=code, sent=True)
            continue
        tries[(user.object_id, write.key)] = tries.get((user.object_id, write.key), 0) + 1
        if tries[(user.object_id, write.key)] >= INLINE_TRIES:
            user.waits.append(answer.retry_after or 0.0)  # open: the chunk's next attempt reads back and retries
        else:
            again = True
    return again


def _stage(progress: ChunkProgress, user: _UserMethods) -> None:
    if user.states != user.entry.methods:
        progress.methods(user.entry, user.states)
