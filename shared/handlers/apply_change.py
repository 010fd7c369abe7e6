"""apply change: bring one legacy user's current state into Entra, whatever order the hints came in.

In: LegacyChange (ids and op only). Re-reads the user's current legacy state (LegacyState), so applying is
idempotent and order-proof: a redelivered or late hint applies the *current* state again, and a state older
than one already applied (a lower seq) is skipped, never written (R12). Out: nothing, or a continuation
LegacyChange (`…:attempt-N`, scheduled, same session) when Graph is busy or can't read the user yet.

* no ledger entry → create through the import path (mapping + the import chunk handler: exactly once), unless
  a wave plan places the user in a wave not migrated yet or rolled back (shared.sync.wave_gate): then it waits;
* gone from legacy → soft DELETE (or disable, by policy); back in legacy after a delete → restore, then update;
* otherwise PATCH only the mapped fields that changed, judged against the fingerprint of what we last wrote:
  Entra still holds our value → legacy wins; Entra changed it too → the conflict rule decides (disable always
  applies) and the conflict is recorded with both values; legacy unchanged → Entra's edit stays;
* password changes: flagged for JIT → the vaulted hash is replaced; migrated → JIT re-armed (vault first, then a
  random password + flag true); no hash in the source → force a reset or leave it, by policy.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from typing import Any

from shared.handlers.import_chunk import import_chunk
from shared.handlers.workflow import Workflow
from shared.mapping import MappingReject, _random_password, extension_properties_for, map_user
from shared.messages import Envelope, ImportChunk, LegacyChange, envelope_id
from shared.outcomes import Outcome, RunState
from shared.passwords.jit_hash import jit_hash
from shared.ports import ChunkEntry, StoredCredential
from shared.preflight import check_password
from shared.records import LegacyUser, TargetUser
from shared.sync.drop import UnknownToFeed
from shared.sync.errors import GraphBusy, UserGone, WriteRejected
from shared.sync.feed import read_current
from shared.sync.fingerprint import local_identities, mapped_fields, written_fingerprint
from shared.sync.model import Conflict, Fingerprint
from shared.sync.policy import sync_run_id
from shared.sync.ports import SyncPorts
from shared.sync.wave_gate import awaiting_wave

logger = logging.getLogger(__name__)

LIVE = frozenset({Outcome.CREATED, Outcome.ALREADY_PRESENT})


class _Retry(Exception):
    """Try this change again later (Graph busy, or the user not readable yet)."""


async def apply_change(change: LegacyChange, sync: SyncPorts, workflow: Workflow) -> list[Envelope]:
    try:
        user, seq = await read_current(sync.states(change.source), change.legacy_id)
    except UnknownToFeed:
        await sync.store.bump(change.source, {"unknown": 1})
        return []  # the feed knows nothing of this user (a hint from elsewhere): nothing to apply
    fingerprint = (await sync.store.get_fingerprints(change.source, [change.legacy_id])).get(change.legacy_id)
    if seq is not None and fingerprint is not None and fingerprint.seq is not None and seq < fingerprint.seq:
        await sync.store.bump(change.source, {"stale_skipped": 1})
        return []  # a newer state of this user is already in Entra
    entry = (await sync.ports.ledger.get_many(change.source, [change.legacy_id])).get(change.legacy_id)
    object_id = entry.object_id if entry is not None and entry.outcome in LIVE else None
    try:
        if object_id is None:
            if user is not None:
                return await _create(change, user, seq, sync, workflow)
            await sync.store.bump(change.source, {"unchanged": 1})
        elif user is None:
            await _remove(change, object_id, fingerprint, seq, sync)
        else:
            await _update(change, user, seq, object_id, fingerprint, sync)
    except (_Retry, GraphBusy, UserGone) as exc:
        return await _continue(change, sync, type(exc).__name__)
    except WriteRejected as exc:
        await sync.store.bump(change.source, {"rejected": 1})
        logger.warning("change %s of a %s user refused by Graph (%s)", change.change_id, change.source, exc.code)
    return []


async def _continue(change: LegacyChange, sync: SyncPorts, cause: str) -> list[Envelope]:
    if change.attempt + 1 >= sync.policy.max_attempts:
        await sync.store.bump(change.source, {"failed": 1})
        logger.error("change %s: gave up after %d attempts (%s)", change.change_id, sync.policy.max_attempts, cause)
        return []
    nxt = change.model_copy(update={"attempt": change.attempt + 1})
    delay = min(2.0**change.attempt, 60.0)
    return [
        Envelope(
            id=envelope_id(change.run_id, "change", change.change_id, nxt.attempt),
            queue=sync.policy.legacy_changes_queue,
            session_id=session_for(change.source, change.legacy_id),
            not_before=sync.ports.clock.now() + timedelta(seconds=delay),
            payload=nxt,
        )
    ]


def session_for(source: str, legacy_id: str) -> str:
    """Service Bus session ids are ≤ 128 characters: long legacy ids are digested (still one session per user)."""
    raw = f"{source}|{legacy_id}"
    return raw if len(raw) <= 128 else f"{source}|{hashlib.sha256(legacy_id.encode()).hexdigest()}"


# ---- create: the import path -----------------------------------------------------------------------
async def _create(
    change: LegacyChange, user: LegacyUser, seq: int | None, sync: SyncPorts, workflow: Workflow
) -> list[Envelope]:
    ports = sync.ports
    if (wave := await awaiting_wave(ports.ledger, change.source, user)) is not None:
        await sync.store.bump(change.source, {"awaiting_wave": 1})
        logger.info("change %s: the user waits for wave %d (not migrated yet, or rolled back)", change.change_id, wave)
        return []  # `run --wave N` imports the user with their current state; nothing is lost by waiting
    run_id = sync_run_id(change.source)
    if await ports.ledger.get_run(run_id) is None:
        now = ports.clock.now()
        await ports.ledger.save_run(
            RunState(run_id=run_id, source=change.source, export_ref=f"sync:{change.source}", started_at=now,
                     planned_at=now, finished_at=now, mapping=sync.mapping, total=0, rejected=0,
                     chunks=0)
        )  # fmt: skip
    target = map_user(user, sync.mapping)
    if isinstance(target, MappingReject):
        await sync.store.bump(change.source, {"rejected": 1})
        logger.warning("change %s: the new user can't be mapped (%s)", change.change_id, target.code)
        return []
    await ports.directory.ensure_extension_properties(extension_properties_for(user.attributes, sync.mapping))
    chunk_id = "u" + hashlib.blake2b(user.legacy_id.encode(), digest_size=10).hexdigest()
    await ports.chunks.put(run_id, chunk_id, [ChunkEntry(line=seq or 0, user=user)])
    follow = await import_chunk(ImportChunk(run_id=run_id, source=change.source, chunk_id=chunk_id), ports, workflow)
    if any(isinstance(e.payload, ImportChunk) for e in follow):
        raise _Retry("create throttled")  # the ledger's pending intent keeps the redo exactly-once
    entry = (await ports.ledger.get_many(change.source, [user.legacy_id])).get(user.legacy_id)
    if entry is None or entry.outcome not in LIVE or entry.object_id is None:
        await sync.store.bump(change.source, {"rejected": 1})
        return []
    await _remember(sync, change.source, user, seq, entry.object_id, target, None)
    await sync.store.bump(change.source, {"created": 1})
    return []


async def _remember(
    sync: SyncPorts, source: str, user: LegacyUser, seq: int | None, object_id: str, target: TargetUser,
    previous: Fingerprint | None,
) -> None:  # fmt: skip
    written = written_fingerprint(sync.digester, sync.mapping, source, user, target, object_id, sync.ports.clock.now())
    await sync.store.put_fingerprint(
        written.model_copy(update={"seq": _max(seq, previous.seq if previous else None),
                                   "password_seq": previous.password_seq if previous else None})
    )  # fmt: skip


def _max(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


# ---- delete ----------------------------------------------------------------------------------------
async def _remove(
    change: LegacyChange, object_id: str, fingerprint: Fingerprint | None, seq: int | None, sync: SyncPorts
) -> None:
    if fingerprint is not None and fingerprint.deleted:
        await sync.store.bump(change.source, {"unchanged": 1})
        return
    base = fingerprint or Fingerprint(source=change.source, legacy_id=change.legacy_id, object_id=object_id,
                                      updated_at=sync.ports.clock.now())  # fmt: skip
    if sync.policy.delete_policy == "disable":
        await sync.directory.update_user(object_id, {"accountEnabled": False})
        fields = {**base.fields, "accountEnabled": sync.digester.of(False)}
        await sync.store.put_fingerprint(
            base.model_copy(update={"fields": fields, "seq": _max(seq, base.seq), "updated_at": sync.ports.clock.now()})
        )
        await sync.store.bump(change.source, {"disabled": 1})
        return
    await sync.directory.delete_user(object_id)
    if sync.ports.vault is not None:
        await sync.ports.vault.delete(object_id)
    await sync.store.put_fingerprint(
        base.model_copy(update={"deleted": True, "password": None, "seq": _max(seq, base.seq),
                                "updated_at": sync.ports.clock.now()})
    )  # fmt: skip
    await sync.store.bump(change.source, {"deleted": 1})


# ---- update ----------------------------------------------------------------------------------------
async def _update(
    change: LegacyChange, user: LegacyUser, seq: int | None, object_id: str, fingerprint: Fingerprint | None,
    sync: SyncPorts,
) -> None:  # fmt: skip
    counts: dict[str, int] = {}
    if fingerprint is not None and fingerprint.deleted:
        if not await sync.directory.restore_user(object_id):
            raise WriteRejected("NotRestorable", "the user is no longer in deleted items (purged after 30 days)")
        counts["restored"] = 1
        fingerprint = fingerprint.model_copy(update={"deleted": False})
    target = map_user(user, sync.mapping)
    if isinstance(target, MappingReject):
        await sync.store.bump(change.source, {"rejected": 1})
        logger.warning("change %s: the user can't be mapped (%s)", change.change_id, target.code)
        return
    mapping = sync.mapping
    flag = mapping.extension_name(mapping.flag_attribute)
    desired = mapped_fields(target, flag, mapping.tenant)
    written = dict(fingerprint.fields) if fingerprint is not None else {}
    names = sorted(set(desired) | set(written))
    entra = await sync.directory.get_user(
        object_id, ["id", "identities", flag, *[n for n in names if n != "identities"]]
    )
    current = {n: entra.get(n) for n in names if n != "identities"}
    current["identities"] = local_identities(entra.get("identities") or [], mapping.tenant)
    flagged_now = bool(entra.get(flag))
    cut_over = _cut_over(sync, fingerprint, flagged_now)

    patch: dict[str, Any] = {}
    new_fields: dict[str, str] = {}
    for name in names:
        legacy, now_in_entra, last = desired.get(name), current.get(name), written.get(name)
        d_legacy, d_entra = sync.digester.of(legacy), sync.digester.of(now_in_entra)
        if d_legacy == d_entra:
            new_fields[name] = d_legacy
        elif last is not None and d_legacy == last:
            new_fields[name] = last  # legacy didn't change it: an Entra-side edit stays
        elif last is None or d_entra == last:
            patch[name], new_fields[name] = legacy, d_legacy  # Entra still holds our value: legacy wins
        else:
            winner = _resolve(sync, name, legacy, cut_over)
            if await sync.store.record_conflict(
                Conflict(source=change.source, legacy_id=user.legacy_id, object_id=object_id, field=name,
                         legacy_value=legacy, entra_value=now_in_entra, resolution=winner, rule=_rule(sync, name),
                         at=sync.ports.clock.now())
            ):  # fmt: skip
                counts["conflicts"] = 1
            if winner == "legacy":
                patch[name], new_fields[name] = legacy, d_legacy
            else:
                new_fields[name] = last

    password_patch, password_digest, password_seq, password_count = await _password(
        change, user, object_id, fingerprint, flagged_now, sync
    )
    body = _graph_patch(patch, target, entra, mapping.tenant)
    body.update(password_patch)
    if body:
        await sync.directory.update_user(object_id, body)
    if "accountEnabled" in patch:
        counts["disabled" if patch["accountEnabled"] is False else "enabled"] = 1
    if set(patch) - {"accountEnabled"}:
        counts["updated"] = 1
    counts.update(password_count)
    if not body:
        counts["unchanged"] = 1
    flagged = bool(password_patch.get(flag, flagged_now))
    base = fingerprint or Fingerprint(source=change.source, legacy_id=user.legacy_id, updated_at=sync.ports.clock.now())
    await sync.store.put_fingerprint(
        base.model_copy(update={
            "object_id": object_id, "fields": new_fields, "password": password_digest, "flagged": flagged,
            "seq": _max(seq, base.seq), "password_seq": password_seq, "updated_at": sync.ports.clock.now(),
        })
    )  # fmt: skip
    await sync.store.bump(change.source, counts)


def _cut_over(sync: SyncPorts, fingerprint: Fingerprint | None, flagged_now: bool) -> bool:
    """After the apps moved (SYNC_CUTOVER_AT), or once the user signed in to Entra (JIT cleared our flag)."""
    if sync.policy.cutover_at is not None and sync.ports.clock.now() >= sync.policy.cutover_at:
        return True
    return fingerprint is not None and fingerprint.flagged is True and not flagged_now


def _rule(sync: SyncPorts, name: str) -> str:
    return "disable always applies" if name == "accountEnabled" else sync.policy.conflict_rule


def _resolve(sync: SyncPorts, name: str, legacy: Any, cut_over: bool) -> str:
    if name == "accountEnabled" and legacy is False:
        return "legacy"  # security: a legacy disable always applies
    rule = sync.policy.conflict_rule
    if rule == "legacy_wins":
        return "legacy"
    if rule == "entra_wins":
        return "entra"
    return "entra" if cut_over else "legacy"


def _graph_patch(patch: dict[str, Any], target: TargetUser, entra: dict[str, Any], tenant: str) -> dict[str, Any]:
    """The PATCH body: changed properties as Graph names them; identities as the whole new collection."""
    body = {k: v for k, v in patch.items() if k != "identities"}
    if "identities" in patch:
        ours = [
            i.model_dump(by_alias=True) for i in target.identities if i.sign_in_type in ("emailAddress", "userName")
        ]
        kept = [i for i in entra.get("identities") or [] if not local_identities([i], tenant)]
        body["identities"] = [*ours, *kept]
    return body


async def _password(
    change: LegacyChange, user: LegacyUser, object_id: str, fingerprint: Fingerprint | None, flagged_now: bool,
    sync: SyncPorts,
) -> tuple[dict[str, Any], str | None, int | None, dict[str, int]]:  # fmt: skip
    """(PATCH properties, password digest to remember, password seq, counters) for a legacy password change."""
    flag = sync.mapping.extension_name(sync.mapping.flag_attribute)
    digest = sync.digester.of_password(user.password)
    last = fingerprint.password if fingerprint is not None else None
    handled = fingerprint.password_seq if fingerprint is not None else None
    event = change.op == "password" and (change.seq is None or handled is None or change.seq > handled)
    new_seq = _max(change.seq if change.op == "password" else None, handled)
    if digest is None:
        if not event or sync.policy.no_hash_password_policy == "leave":
            return {}, last, new_seq, {}
        if sync.ports.vault is not None:
            await sync.ports.vault.delete(object_id)
        reset = {
            "passwordProfile": {"password": _random_password(), "forceChangePasswordNextSignIn": True},
            flag: False,
        }
        return reset, None, new_seq, {"password_reset": 1}
    changed = digest != last if last is not None else event
    if not changed:
        return {}, digest, new_seq, {}
    assert user.password is not None
    plain = user.password.plaintext
    if plain is not None and check_password(plain.get_secret_value()) is None:
        # Entra can take this one as it is: set it, no JIT needed.
        if sync.ports.vault is not None:
            await sync.ports.vault.delete(object_id)
        body = {"passwordProfile": {"password": plain.get_secret_value(), "forceChangePasswordNextSignIn": False},
                flag: False}  # fmt: skip
        return body, digest, new_seq, {"password_set": 1}
    password_hash = jit_hash(user)
    if password_hash is None or sync.ports.vault is None:
        return {}, last, new_seq, {}
    # Vault first: once the flag says "migrate", the JIT endpoint must find the new hash.
    await sync.ports.vault.store(
        StoredCredential(object_id=object_id, source=change.source, legacy_id=user.legacy_id,
                         password_hash=password_hash, disabled=user.disabled)
    )  # fmt: skip
    if flagged_now:
        return {}, digest, new_seq, {"password_vaulted": 1}
    rearm = {"passwordProfile": {"password": _random_password(), "forceChangePasswordNextSignIn": False}, flag: True}
    return rearm, digest, new_seq, {"password_rearmed": 1}
