"""reconcile_export: legacy export vs tenant, per user and per field, in bounded memory.

In: the export (read by the source's reader, admitted and mapped exactly as the run's plan stage does, with
the source's latest run's mapping), the ledger, the tenant as pages of Graph users, and which object ids hold
a vaulted hash. Out: a ReconcileResult; every Difference is also kept in the work store for the reports.
Memory: one batch of BATCH legacy users, one Graph page (≤ 999 users), the first N differences, the
admission's duplicate guards (8-byte digests per legacy id and sign-in name) and per-kind counters; the rest
is on disk (shared/reconcile/spill.py). Read-only: nothing is written to the tenant, the ledger or the vault.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.mapping import MappingOptions
from shared.outcomes import Outcome
from shared.planning.admission import Admission
from shared.ports import Ledger
from shared.reconcile.fields import expected_fields, mismatches, tenant_fields
from shared.reconcile.model import Difference, DifferenceKind, ReconcileResult
from shared.reconcile.spill import BATCH, ExpectedRow, ReconcileWork
from shared.records import RejectedRecord, SourceRecord, TargetUser
from shared.sources import SourceItem

LINKED = frozenset({Outcome.CREATED, Outcome.ALREADY_PRESENT})
VaultHolds = Callable[[Sequence[str]], Awaitable[set[str]]]


def _constant_password() -> str:
    return "Reconcile-only-0"  # nothing is sent: the mapped password is never compared


@dataclass
class ReconcileInputs:
    source: str
    export: str
    records: Callable[[], Iterator[SourceItem]]  # the export, read from its start
    mapping: MappingOptions
    ledger: Ledger
    tenant_pages: Callable[[list[str]], AsyncIterator[list[dict[str, Any]]]]  # $select names → pages
    vault_holds: VaultHolds | None = None  # None: vault not readable here, JIT hashes not checked
    # Users `longtail --policy disable` disabled on purpose: their expected accountEnabled is false.
    disabled_by_long_tail: Callable[[Sequence[str]], set[str]] | None = None
    first_n: int = 200


class _Tally:
    def __init__(self, work: ReconcileWork, first_n: int) -> None:
        self.work = work
        self.first_n = first_n
        self.first: list[Difference] = []
        self.by_kind: Counter[str] = Counter()
        self.by_field: Counter[str] = Counter()
        self._pending: list[Difference] = []

    def add(self, difference: Difference) -> None:
        self.by_kind[difference.kind.value] += 1
        if difference.field:
            self.by_field[difference.field] += 1
        if len(self.first) < self.first_n:
            self.first.append(difference)
        self._pending.append(difference)
        if len(self._pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        self.work.add_differences(self._pending)
        self._pending = []


async def _expected(inputs: ReconcileInputs, work: ReconcileWork) -> tuple[int, int, set[str]]:
    """Phase 1: the export into `expected`. Returns (admitted, rejected, extension names seen)."""
    admission = Admission(inputs.mapping, deterministic=True)
    flag = inputs.mapping.extension_name(inputs.mapping.flag_attribute)
    admitted = rejected = 0
    extensions: set[str] = {flag}
    batch: list[tuple[SourceRecord, TargetUser]] = []

    async def flush() -> None:
        entries = await inputs.ledger.get_many(inputs.source, [t.legacy_id for _, t in batch])
        rows = []
        for record, target in batch:
            entry = entries.get(target.legacy_id)
            linked = entry is not None and entry.outcome in LINKED and entry.object_id
            rows.append(ExpectedRow(
                legacy_id=target.legacy_id, object_id=entry.object_id if linked and entry else None,
                outcome=entry.outcome.value if entry else None, line=record.line,
                fields=expected_fields(target, inputs.mapping), jit=target.password_path == "jit",
            ))  # fmt: skip
        work.add_expected(rows)
        batch.clear()

    for item in inputs.records():
        if isinstance(item, RejectedRecord):
            rejected += 1
            continue
        verdict = admission.admit(item, random_password=_constant_password)
        if isinstance(verdict, RejectedRecord):
            rejected += 1
            continue
        admitted += 1
        extensions.update(verdict.extension_attributes)
        batch.append((item, verdict))
        if len(batch) >= BATCH:
            await flush()
    if batch:
        await flush()
    return admitted, rejected, extensions


async def _ours(inputs: ReconcileInputs, work: ReconcileWork) -> None:
    """Every object id the ledger links for this source, into `ours` (streamed per run)."""
    rows: list[tuple[str, str, str]] = []
    for run in await inputs.ledger.list_runs():
        async for entry in inputs.ledger.entries_for_run(run.run_id):
            if entry.source == inputs.source and entry.object_id and entry.outcome in LINKED:
                rows.append((entry.object_id, entry.legacy_id, entry.outcome.value))
                if len(rows) >= BATCH:
                    work.add_ours(rows)
                    rows = []
    work.add_ours(rows)


def _flag_state(flag: Any, jit: bool, hashed: bool | None) -> tuple[str, str | None]:
    """(state, why it is a difference or None)."""
    if flag is True:
        if not jit:
            return "flagged_without_legacy_hash", "flagged for JIT, but the legacy record brings no hash to verify"
        if hashed is False:
            return "flagged_without_vaulted_hash", "flagged for JIT, but the vault holds no hash for this user"
        return "jit_pending", None
    if jit:
        return "jit_migrated", None  # JIT verified the password and cleared the flag (or long tail applied)
    return "not_jit", None


async def reconcile_export(inputs: ReconcileInputs, work_path: Path) -> tuple[ReconcileResult, ReconcileWork]:
    """Compare; the caller writes the reports from the returned work store, then closes it."""
    started = datetime.now(UTC)
    work = ReconcileWork(work_path)
    try:
        return await _compare(inputs, work, started), work
    except BaseException:
        work.close()
        raise


async def _compare(inputs: ReconcileInputs, work: ReconcileWork, started: datetime) -> ReconcileResult:
    admitted, rejected, extensions = await _expected(inputs, work)
    await _ours(inputs, work)
    flag = inputs.mapping.extension_name(inputs.mapping.flag_attribute)
    names = sorted(extensions)
    tally = _Tally(work, inputs.first_n)
    flag_states: Counter[str] = Counter()
    tenant_users = matched = with_differences = peak = 0
    async for page in inputs.tenant_pages(names):
        tenant_users += len(page)
        ids = [str(u["id"]) for u in page]
        expected = work.expected_for(ids)
        ours = work.ours_among(ids)
        hashed = await inputs.vault_holds(ids) if inputs.vault_holds is not None else None
        disabled = inputs.disabled_by_long_tail(ids) if inputs.disabled_by_long_tail is not None else set()
        peak = max(peak, len(page) + len(expected))
        for user in page:
            oid = str(user["id"])
            if oid not in expected:
                kind = DifferenceKind.ORPHAN_NOT_IN_LEGACY if oid in ours else DifferenceKind.ORPHAN_NOT_OURS
                detail = ("linked by the ledger, but not a user of this export" if oid in ours
                          else "not created or linked by ciam-migrate")  # fmt: skip
                tally.add(Difference(kind=kind, legacy_id=ours.get(oid), object_id=oid, detail=detail,
                                     actual=user.get("displayName")))  # fmt: skip
                with_differences += 1
                continue
            matched += 1
            legacy_id, line, fields, jit = expected[oid]
            if oid in disabled:
                fields["accountEnabled"] = False
            found = 0
            for name, want, got in mismatches(fields, tenant_fields(user, names, flag)):
                kind = DifferenceKind.ENABLED_MISMATCH if name == "accountEnabled" else DifferenceKind.FIELD_MISMATCH
                tally.add(Difference(kind=kind, legacy_id=legacy_id, object_id=oid, field=name, expected=want,
                                     actual=got, line=line))  # fmt: skip
                found += 1
            state, why = _flag_state(user.get(flag), jit, None if hashed is None else oid in hashed)
            flag_states[state] += 1
            if why:
                tally.add(Difference(kind=DifferenceKind.MIGRATION_FLAG, legacy_id=legacy_id, object_id=oid,
                                     field=flag, expected=jit, actual=user.get(flag), line=line,
                                     detail=why))  # fmt: skip
                found += 1
            with_differences += found > 0
    for legacy_id, object_id, outcome, line in work.unseen():
        detail = (f"the ledger links {object_id} ({outcome}), which the tenant no longer lists" if object_id
                  else f"never imported (ledger: {outcome or 'no entry'})")  # fmt: skip
        tally.add(Difference(kind=DifferenceKind.MISSING_IN_TARGET, legacy_id=legacy_id, object_id=object_id,
                             line=line, detail=detail))  # fmt: skip
        with_differences += 1
    tally.flush()
    return ReconcileResult(
        source=inputs.source, export=inputs.export, started_at=started, finished_at=datetime.now(UTC),
        legacy_users=admitted, legacy_rejected=rejected, tenant_users=tenant_users, matched_users=matched,
        users_with_differences=with_differences, differences=sum(tally.by_kind.values()),
        by_kind=dict(tally.by_kind), by_field=dict(tally.by_field), flag_states=dict(flag_states),
        first=tally.first, peak_work_rows=peak,
    )  # fmt: skip
