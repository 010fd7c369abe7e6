"""import chunk: create the chunk's users in Entra, record each outcome in the ledger, report the chunk.

In: ImportChunk. Out: ChunkImported, or — when Graph throttles or fails for longer than the inline
retry budget — a continuation ImportChunk (new id `…:attempt-N`, scheduled after Retry-After).
Idempotent by (source, legacyId): users with a final outcome in the ledger are never sent again, so a
redelivered chunk sends nothing twice and a continuation re-sends only the users still open.
Checkpoint before emit: a `pending` intent is written before a create is sent; a later conflict for a
pending user means our own earlier write committed (→ created, linked by an identity lookup).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import secrets
from datetime import timedelta

from pydantic import SecretStr

from shared.handlers.options import mapping_from_dict
from shared.handlers.workflow import Workflow
from shared.mapping import MappingReject, map_user
from shared.messages import ChunkImported, Envelope, ImportChunk, envelope_id
from shared.outcomes import LedgerEntry, Outcome
from shared.ports import ChunkEntry, CreateResult, Ports, StoredCredential
from shared.reasons import Reason
from shared.records import LegacyUser, PasswordHash, TargetUser

logger = logging.getLogger(__name__)

LOOKUP_ATTEMPTS = 3
LOOKUP_DELAY_S = 0.2
JIT_PBKDF2_ITERATIONS = 27_500
DONE = frozenset({Outcome.CREATED, Outcome.ALREADY_PRESENT, Outcome.FAILED, Outcome.REJECTED})


class _Chunk:
    """The chunk's users and their ledger state while it is being imported."""

    def __init__(self, command: ImportChunk, entries: list[ChunkEntry], ports: Ports) -> None:
        self.command = command
        self.entries = {e.user.legacy_id: e for e in entries}
        self.ports = ports
        self.updates: dict[str, LedgerEntry] = {}

    def entry(self, legacy_id: str, outcome: Outcome, **fields: object) -> LedgerEntry:
        source = self.entries[legacy_id]
        ledger_entry = LedgerEntry.model_validate(
            {
                "source": self.command.source,
                "legacy_id": legacy_id,
                "run_id": self.command.run_id,
                "outcome": outcome,
                "line": source.line,
                "chunk_id": self.command.chunk_id,
                "updated_at": self.ports.clock.now(),
                **fields,
            }
        )
        self.updates[legacy_id] = ledger_entry
        return ledger_entry


async def import_chunk(command: ImportChunk, ports: Ports, workflow: Workflow) -> list[Envelope]:
    run = await ports.ledger.get_run(command.run_id)
    if run is None:
        raise LookupError(f"run {command.run_id} is not in the ledger; was its export planned?")
    mapping = mapping_from_dict(run.mapping)
    chunk = _Chunk(command, await ports.chunks.get(command.run_id, command.chunk_id), ports)
    known = await ports.ledger.get_many(command.source, list(chunk.entries))

    to_send: list[TargetUser] = []
    for legacy_id, item in chunk.entries.items():
        previous = known.get(legacy_id)
        if previous is not None and previous.outcome in DONE and previous.run_id == command.run_id:
            continue  # settled by an earlier delivery of this chunk
        if previous is not None and previous.outcome in (Outcome.CREATED, Outcome.ALREADY_PRESENT):
            chunk.entry(legacy_id, Outcome.ALREADY_PRESENT, object_id=previous.object_id)  # an earlier run made it
            continue
        target = map_user(item.user, mapping)
        if isinstance(target, MappingReject):  # planning rejects these; only a changed mapping gets here
            chunk.entry(legacy_id, Outcome.FAILED, code=target.code, message=target.message)
            continue
        to_send.append(target)

    # Checkpoint before emit: the intent is durable before any create leaves this process.
    for target in to_send:
        previous = known.get(target.legacy_id)
        if previous is None or previous.outcome != Outcome.PENDING:
            chunk.entry(target.legacy_id, Outcome.PENDING)
    await ports.ledger.record([*chunk.updates.values()])
    chunk.updates.clear()

    results = await ports.directory.create_users(to_send) if to_send else []
    by_id = {t.legacy_id: t for t in to_send}
    results_by_id = {r.legacy_id: r for r in results}
    retry_after: list[float] = []
    open_ids: list[str] = []
    for result in results:
        was_pending = (prev := known.get(result.legacy_id)) is not None and prev.outcome == Outcome.PENDING
        settled = await _settle(chunk, by_id[result.legacy_id], result, was_pending)
        if not settled:
            open_ids.append(result.legacy_id)
            if result.retry_after is not None:
                retry_after.append(result.retry_after)

    give_up = bool(open_ids) and command.attempt + 1 >= workflow.max_attempts
    for legacy_id in open_ids:
        result = results_by_id[legacy_id]
        if give_up:
            code = (
                Reason.GRAPH_UNAVAILABLE if result.status in ("throttled", "transient") else Reason.CONFLICT_UNRESOLVED
            )
            chunk.entry(
                legacy_id,
                Outcome.FAILED,
                code=code,
                message=f"{result.error_code}: gave up after {workflow.max_attempts} attempts",
            )
        elif result.status == "throttled":
            chunk.entry(legacy_id, Outcome.DEFERRED, code=result.error_code)
    # Vault first: once the ledger says created, a redelivery skips the user, so a hash not yet stored
    # would be lost. Storing again on redelivery is harmless (keyed by object id).
    await _store_credentials(chunk, by_id)
    await ports.ledger.record([*chunk.updates.values()])

    if open_ids and not give_up:
        delay = max(retry_after, default=2.0 ** min(command.attempt, 6))
        ports.telemetry.count("chunk_continuations", 1)
        logger.info("chunk %s: %d users still open, continuing in %.1fs", command.chunk_id, len(open_ids), delay)
        nxt = command.model_copy(update={"attempt": command.attempt + 1})
        return [
            Envelope(
                id=envelope_id(command.run_id, "import", command.chunk_id, nxt.attempt),
                queue=workflow.import_chunks_queue,
                not_before=ports.clock.now() + timedelta(seconds=delay),
                payload=nxt,
            )
        ]
    return [await _chunk_imported(command, chunk, ports, workflow)]


async def _settle(chunk: _Chunk, target: TargetUser, result: CreateResult, was_pending: bool) -> bool:
    """Record a final outcome for one create result. False when the user stays open for a continuation."""
    legacy_id = result.legacy_id
    if result.status == "created":
        chunk.entry(legacy_id, Outcome.CREATED, object_id=result.object_id)
        chunk.ports.telemetry.count("users_created", 1)
        return True
    if result.status == "rejected":
        chunk.entry(legacy_id, Outcome.FAILED, code=result.error_code or Reason.GRAPH_REJECTED, message=result.message)
        chunk.ports.telemetry.count("users_failed", 1, code=result.error_code or "unknown")
        return True
    if result.status == "conflict":
        object_id = await _lookup(chunk.ports, target)
        if object_id is None:
            return False  # read-after-write lag: look again in the continuation
        ours = was_pending or result.ambiguous_retry
        chunk.entry(legacy_id, Outcome.CREATED if ours else Outcome.ALREADY_PRESENT, object_id=object_id)
        return True
    return False


async def _lookup(ports: Ports, target: TargetUser) -> str | None:
    """The conflicting user's object id; None while Graph can't say yet (lag or errors): retry later."""
    for attempt in range(LOOKUP_ATTEMPTS):
        try:
            object_id = await ports.directory.find_user_by_identity(target.primary_identity)
        except Exception as exc:  # the directory already retried; keep the user open for a continuation
            logger.warning("identity lookup failed (%s); the user stays open", type(exc).__name__)
            return None
        if object_id is not None:
            return object_id
        await asyncio.sleep(LOOKUP_DELAY_S * (attempt + 1))
    return None


def _jit_hash(user: LegacyUser) -> PasswordHash | None:
    """The hash the JIT endpoint verifies: the exported one, or one we derive from a plaintext Entra refused."""
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


async def _store_credentials(chunk: _Chunk, targets: dict[str, TargetUser]) -> None:
    """Vault the hash of every user just created for JIT migration, keyed by their Entra object id."""
    vault = chunk.ports.vault
    if vault is None:
        return
    credentials: list[StoredCredential] = []
    for legacy_id, entry in chunk.updates.items():
        target = targets.get(legacy_id)
        if target is None or target.password_path != "jit" or entry.outcome != Outcome.CREATED or not entry.object_id:
            continue
        user = chunk.entries[legacy_id].user
        password_hash = _jit_hash(user)
        if password_hash is not None:
            credentials.append(
                StoredCredential(
                    object_id=entry.object_id, source=chunk.command.source, legacy_id=legacy_id,
                    password_hash=password_hash, disabled=user.disabled,
                )
            )  # fmt: skip
    if credentials:
        await vault.store_many(credentials)


async def _chunk_imported(command: ImportChunk, chunk: _Chunk, ports: Ports, workflow: Workflow) -> Envelope:
    """Count the chunk from the ledger, so every delivery of the last attempt reports the same figures."""
    final = await ports.ledger.get_many(command.source, list(chunk.entries))
    counts = {Outcome.CREATED: 0, Outcome.ALREADY_PRESENT: 0, Outcome.FAILED: 0}
    for legacy_id in chunk.entries:
        entry = final.get(legacy_id)
        if entry is None or entry.outcome not in counts:
            raise RuntimeError(f"chunk {command.chunk_id}: user at line {chunk.entries[legacy_id].line} has no outcome")
        counts[entry.outcome] += 1
    return Envelope(
        id=envelope_id(command.run_id, "imported", command.chunk_id),
        queue=workflow.run_events_queue,
        payload=ChunkImported(
            run_id=command.run_id,
            chunk_id=command.chunk_id,
            created=counts[Outcome.CREATED],
            already_present=counts[Outcome.ALREADY_PRESENT],
            failed=counts[Outcome.FAILED],
        ),
    )
