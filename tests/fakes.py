"""In-memory ports for handler tests: every port of `shared.ports.Ports`, no I/O, no sleeping.

Build a bundle with `FakePorts()` and pass `fake.ports` to a handler. The fakes behave like the real
adapters where the handlers depend on it (the ledger upserts by (source, legacy_id) and counts a
redelivered chunk result once; the queue drops a message id it already holds; the directory answers
ObjectConflict for an identity that already exists) and let a test script what Graph answers per user:

    fake.directory.script("u1", "commit-then-throttled", "conflict")

Steps a script may hold, consumed one per create attempt of that user (then the natural answer):
  created                 the user is created (the natural answer for a new identity)
  throttled / transient   429 / 5xx before anything was written
  commit-then-throttled   the write commits, then the client is told 429 (504-after-commit, then a 429 retry)
  commit-then-transient   the write commits, then the answer is lost (504 after commit, retries exhausted)
  created-without-id      201 whose body carries no id
  commit-then-conflict    the write commits, its answer is lost, the directory's own retry meets ObjectConflict
  rejected                400 that is not a conflict
Lookups by identity see a user `lookup_lag` lookups after it was created (read-after-write lag).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from shared.auth_methods import MethodKind, MethodWrite
from shared.errors import ExtensionTypeConflict
from shared.messages import ChunkImported, Envelope
from shared.outcomes import Creation, LedgerEntry, Outcome, RunState
from shared.ports import ChunkEntry, CreateResult, MethodAnswer, MethodPost, Ports, StoredCredential, SyncBaselines
from shared.records import ObjectIdentity, TargetUser
from shared.waves import WavePlan

Step = Literal[
    "created",
    "throttled",
    "transient",
    "commit-then-throttled",
    "commit-then-transient",
    "created-without-id",
    "commit-then-conflict",
    "rejected",
]


class FakeClock:
    def __init__(self, now: datetime = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)


class FakeTelemetry:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.measures: dict[str, list[float]] = {}

    def count(self, name: str, value: int = 1, **attributes: Any) -> None:
        self.counts[name] += value

    def measure(self, name: str, value: float, **attributes: Any) -> None:
        self.measures.setdefault(name, []).append(value)


class FakeQueue:
    def __init__(self) -> None:
        self.sent: list[Envelope] = []

    async def send_all(self, envelopes: Sequence[Envelope]) -> None:
        ids = {e.id for e in self.sent}
        self.sent.extend(e for e in envelopes if e.id not in ids)


class FakeChunkStore:
    def __init__(self) -> None:
        self.chunks: dict[tuple[str, str], list[ChunkEntry]] = {}

    async def put(self, run_id: str, chunk_id: str, entries: Sequence[ChunkEntry]) -> None:
        self.chunks[(run_id, chunk_id)] = list(entries)

    async def get(self, run_id: str, chunk_id: str) -> list[ChunkEntry]:
        return list(self.chunks[(run_id, chunk_id)])


class FakeExportStore:
    def __init__(self, files: dict[str, Path] | None = None) -> None:
        self.files = files or {}

    @asynccontextmanager
    async def open_local(self, export_ref: str) -> AsyncIterator[Path]:
        yield self.files.get(export_ref, Path(export_ref))


class FakeArtifactStore:
    def __init__(self) -> None:
        self.files: dict[tuple[str, str], str] = {}

    async def write_text(self, run_id: str, name: str, text: str) -> None:
        self.files[(run_id, name)] = text

    async def read_text(self, run_id: str, name: str) -> str:
        if (run_id, name) not in self.files:
            raise FileNotFoundError(f"runs/{run_id}/{name}")
        return self.files[(run_id, name)]

    async def append_lines(self, run_id: str, name: str, lines: Sequence[str]) -> None:
        self.files[(run_id, name)] = self.files.get((run_id, name), "") + "".join(line + "\n" for line in lines)

    def location(self, run_id: str) -> str:
        return f"memory://runs/{run_id}"


class FakeLedger:
    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], LedgerEntry] = {}
        self.runs: dict[str, RunState] = {}
        self.chunk_results: dict[tuple[str, str], ChunkImported] = {}
        self.writes: list[list[LedgerEntry]] = []  # every record() call, in order
        self.creations: dict[tuple[str, str], Creation] = {}  # (source, legacy_id) -> the run that created it
        self.wave_plan: WavePlan | None = None

    async def get_many(self, source: str, legacy_ids: Sequence[str]) -> dict[str, LedgerEntry]:
        return {i: self.entries[(source, i)] for i in legacy_ids if (source, i) in self.entries}

    async def record(self, entries: Sequence[LedgerEntry]) -> None:
        self.writes.append(list(entries))
        for entry in entries:
            key = (entry.source, entry.legacy_id)
            self.entries[key] = entry
            if entry.outcome == Outcome.CREATED and entry.object_id and key not in self.creations:
                # The first run to create a user keeps it, as the real ledgers do.
                self.creations[key] = Creation(
                    source=entry.source, legacy_id=entry.legacy_id, run_id=entry.run_id, object_id=entry.object_id
                )

    async def entries_for_run(self, run_id: str) -> AsyncIterator[LedgerEntry]:
        for entry in sorted(self.entries.values(), key=lambda e: e.line or 0):
            if entry.run_id == run_id:
                yield entry

    async def save_run(self, run: RunState) -> None:
        self.runs[run.run_id] = run

    async def get_run(self, run_id: str) -> RunState | None:
        run = self.runs.get(run_id)
        return None if run is None else self._with_chunk_totals(run)

    async def record_chunk(self, result: ChunkImported) -> RunState:
        self.chunk_results[(result.run_id, result.chunk_id)] = result
        run = await self.get_run(result.run_id)
        if run is None:
            raise LookupError(f"run {result.run_id} is not in the ledger")
        return run

    async def list_runs(self) -> list[RunState]:
        return [self._with_chunk_totals(r) for r in sorted(self.runs.values(), key=lambda r: r.started_at)]

    async def creations_of(self, run_ids: Sequence[str]) -> list[Creation]:
        mine = [c for c in self.creations.values() if c.run_id in run_ids]
        return sorted(mine, key=lambda c: (c.run_id, c.source, c.legacy_id))

    async def forget(self, creations: Sequence[Creation]) -> None:
        for creation in creations:
            self.entries.pop((creation.source, creation.legacy_id), None)
            self.creations.pop((creation.source, creation.legacy_id), None)

    async def save_wave_plan(self, plan: WavePlan) -> None:
        self.wave_plan = plan

    async def get_wave_plan(self) -> WavePlan | None:
        return self.wave_plan

    def _with_chunk_totals(self, run: RunState) -> RunState:
        mine = [r for (run_id, _), r in self.chunk_results.items() if run_id == run.run_id]
        return run.model_copy(
            update={
                "chunks_reported": len(mine),
                "created": sum(r.created for r in mine),
                "already_present": sum(r.already_present for r in mine),
                "failed": sum(r.failed for r in mine),
            }
        )


class FakeVault:
    def __init__(self) -> None:
        self.credentials: dict[str, StoredCredential] = {}

    async def store(self, credential: StoredCredential) -> None:
        self.credentials[credential.object_id] = credential

    async def store_many(self, credentials: Sequence[StoredCredential]) -> None:
        for credential in credentials:
            await self.store(credential)

    async def load(self, object_id: str) -> StoredCredential | None:
        return self.credentials.get(object_id)

    async def delete(self, object_id: str) -> None:
        self.credentials.pop(object_id, None)


@dataclass
class _TenantUser:
    object_id: str
    legacy_id: str | None  # None: made by someone else
    lookups_until_visible: int


class FakeDirectory:
    """A tenant that answers creates per script (see the module docstring) and lookups with lag."""

    def __init__(self, *, lookup_lag: int = 0, lookups_fail: bool = False) -> None:
        self.lookup_lag = lookup_lag
        self.lookups_fail = lookups_fail
        self.users: dict[tuple[str, str], _TenantUser] = {}
        self.scripts: dict[str, list[Step]] = {}
        self.create_calls: list[list[str]] = []  # legacy ids per create_users call
        self.lookups = 0
        self.extension_properties: dict[str, str] = {}
        self.methods: dict[str, dict[str, str]] = {}  # object id → slot → value (MFA methods)
        self.method_posts: list[tuple[str, str]] = []
        self.method_script: list[str] = []
        self.method_calls: list[int] = []  # posts per add_methods call
        self._ids = itertools.count(1)

    def script(self, legacy_id: str, *steps: Step) -> None:
        self.scripts.setdefault(legacy_id, []).extend(steps)

    def add_existing(self, identity: ObjectIdentity, object_id: str = "someone-elses") -> None:
        """A user already in the tenant that this migration did not create."""
        self.users[(identity.issuer, identity.issuer_assigned_id)] = _TenantUser(object_id, None, 0)

    def created_by(self, legacy_id: str) -> list[str]:
        return [u.object_id for u in self.users.values() if u.legacy_id == legacy_id]

    @property
    def sent(self) -> list[str]:
        return [legacy_id for call in self.create_calls for legacy_id in call]

    async def create_users(self, users: Sequence[TargetUser]) -> list[CreateResult]:
        self.create_calls.append([u.legacy_id for u in users])
        return [self._create(u) for u in users]

    def _create(self, user: TargetUser) -> CreateResult:
        steps = self.scripts.get(user.legacy_id)
        step: Step = steps.pop(0) if steps else "created"
        key = (user.primary_identity.issuer, user.primary_identity.issuer_assigned_id)
        if step in ("throttled", "transient", "rejected"):
            return _refused(user.legacy_id, step)
        if key in self.users:
            return CreateResult(legacy_id=user.legacy_id, status="conflict", error_code="ObjectConflict")
        object_id = f"obj-{next(self._ids)}"
        self.users[key] = _TenantUser(object_id, user.legacy_id, self.lookup_lag)
        if step == "commit-then-throttled":
            return _refused(user.legacy_id, "throttled")
        if step == "commit-then-transient":
            return _refused(user.legacy_id, "transient")
        if step == "commit-then-conflict":
            return CreateResult(
                legacy_id=user.legacy_id, status="conflict", error_code="ObjectConflict", ambiguous_retry=True
            )
        return CreateResult(
            legacy_id=user.legacy_id, status="created", object_id=None if step == "created-without-id" else object_id
        )

    async def find_user_by_identity(self, identity: ObjectIdentity) -> str | None:
        self.lookups += 1
        if self.lookups_fail:
            raise ConnectionError("Graph unavailable")
        user = self.users.get((identity.issuer, identity.issuer_assigned_id))
        if user is None:
            return None
        if user.lookups_until_visible > 0:
            user.lookups_until_visible -= 1
            return None
        return user.object_id

    async def list_methods(self, object_id: str, kind: MethodKind) -> dict[str, str] | MethodAnswer:
        step = self.method_script.pop(0) if self.method_script and self.method_script[0] == "read-unavailable" else None
        if step is not None:
            return MethodAnswer(status="unavailable", error_code="HTTP503")
        held = self.methods.get(object_id, {})
        return {slot: value for slot, value in held.items() if (slot == "email") == (kind == "email")}

    async def add_methods(self, posts: Sequence[MethodPost]) -> list[MethodAnswer]:
        """Like Graph's `$batch` of method POSTs: one value per slot, a mobile before an alternateMobile.
        `method_script` steps, one per item: throttled, unavailable, commit-then-504 (the write lands,
        the answer is lost); `batch-commit-then-504` applies to a whole call (every item lands, no answer)."""
        self.method_calls.append(len(posts))
        whole = self.method_script.pop(0) if self.method_script[:1] == ["batch-commit-then-504"] else None
        answers = [self._add_method(p.object_id, p.method) for p in posts]
        if whole is not None:
            return [MethodAnswer(status="ambiguous", error_code="HTTP504") for _ in posts]
        return answers

    def _add_method(self, object_id: str, method: MethodWrite) -> MethodAnswer:
        self.method_posts.append((object_id, method.slot))
        step = self.method_script.pop(0) if self.method_script and self.method_script[0] != "read-unavailable" else None
        if step == "throttled":
            return MethodAnswer(status="throttled", retry_after=4.0, error_code="TooManyRequests")
        if step == "unavailable":
            return MethodAnswer(status="ambiguous", error_code="HTTP504")
        held = self.methods.setdefault(object_id, {})
        if method.slot in held or (method.slot == "alternateMobile" and "mobile" not in held):
            return MethodAnswer(status="refused", error_code="badRequest")
        held[method.slot] = method.value
        if step == "commit-then-504":
            return MethodAnswer(status="ambiguous", error_code="HTTP504")
        return MethodAnswer(status="added")

    async def ensure_extension_properties(self, names: dict[str, str]) -> None:
        for name, data_type in names.items():  # the Graph adapter's preflight: every conflict before any write
            have = self.extension_properties.get(name)
            if have is not None and have != data_type:
                raise ExtensionTypeConflict(name, have, data_type, name.split("_", 2)[2])
        for name, data_type in names.items():
            self.extension_properties.setdefault(name, data_type)

    async def close(self) -> None:
        return None


def _refused(legacy_id: str, step: Literal["throttled", "transient", "rejected"]) -> CreateResult:
    if step == "throttled":
        return CreateResult(legacy_id=legacy_id, status="throttled", retry_after=3.0, error_code="TooManyRequests")
    if step == "transient":
        return CreateResult(legacy_id=legacy_id, status="transient", error_code="HTTP504")
    return CreateResult(legacy_id=legacy_id, status="rejected", error_code="Request_BadRequest", message="bad")


@dataclass
class FakePorts:
    """Every port as a fake; `ports` is the bundle handlers take."""

    queue: FakeQueue = field(default_factory=FakeQueue)
    ledger: FakeLedger = field(default_factory=FakeLedger)
    chunks: FakeChunkStore = field(default_factory=FakeChunkStore)
    exports: FakeExportStore = field(default_factory=FakeExportStore)
    artifacts: FakeArtifactStore = field(default_factory=FakeArtifactStore)
    directory: FakeDirectory = field(default_factory=FakeDirectory)
    clock: FakeClock = field(default_factory=FakeClock)
    telemetry: FakeTelemetry = field(default_factory=FakeTelemetry)
    vault: FakeVault | None = field(default_factory=FakeVault)
    baselines: SyncBaselines | None = None  # a real ImportBaselines over a sync store, where a test wants one

    @property
    def ports(self) -> Ports:
        return Ports(
            queue=self.queue,
            ledger=self.ledger,
            chunks=self.chunks,
            exports=self.exports,
            artifacts=self.artifacts,
            directory=self.directory,
            clock=self.clock,
            telemetry=self.telemetry,
            vault=self.vault,
            baselines=self.baselines,
        )
