"""The snapshot diff: a fresh export (any source's reader) compared with the fingerprints kept per user.

A user in the export and not in the sync's view is *created*; one whose mapped fields, enabled state or
password material differ from what we last wrote is *changed*; one we know (ledger or fingerprint) that the
export no longer holds has *vanished* (a delete). So a nightly export is a valid feed, and the way back when a
feed's cursor expired (R16). The export's records are stored sealed (they may hold hashes) and are the
LegacyState the apply stage re-reads, unless the source has a live one.

Cursor: the export's identity (path, size, mtime): the same file is diffed once. Users we never wrote since
the bulk import (no fingerprint yet) get an `update` hint: the apply stage compares them with Entra itself.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

from shared.mapping import MappingOptions, MappingReject, map_user
from shared.outcomes import Outcome
from shared.ports import Ledger
from shared.sealing import Sealer
from shared.sources import SourceOptions, SourceRecord, get_reader
from shared.sync.drop import SealedRecords, short_id
from shared.sync.feed import ChangeHint, ChangeOp, FeedPage, FeedReject
from shared.sync.fingerprint import Digester, field_digests
from shared.sync.model import Fingerprint
from shared.sync.store import DropRecord, SyncStore

_DIFF_PASSWORD = "Snapshot-diff-0"  # mapping needs one; nothing is sent


def export_key(path: Path) -> str:
    stat = path.stat()
    raw = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


class SnapshotDiff(SealedRecords):
    retention: timedelta | None = None

    def __init__(
        self, export: Path, reader: str, store: SyncStore, sealer: Sealer, digester: Digester,
        mapping: MappingOptions, ledger: Ledger, *, source: str, options: SourceOptions | None = None,
    ) -> None:  # fmt: skip
        super().__init__(source, store, sealer)
        self.export = export
        self.reader = get_reader(reader)
        self.digester = digester
        self.mapping = mapping
        self.ledger = ledger
        self.options = options or SourceOptions()

    async def read(self, cursor: str | None) -> FeedPage:
        key = export_key(self.export)
        if cursor == key:
            return FeedPage(hints=[], cursor=cursor)
        version = self.export.stat().st_mtime_ns // 1_000_000  # newer exports carry higher versions
        fingerprints = {fp.legacy_id: fp async for fp in self.store.fingerprints(self.source)}
        known = await self._imported()
        hints: list[ChangeHint] = []
        rejects: list[FeedReject] = []
        records: list[DropRecord] = []
        seen: set[str] = set()
        for item in self.reader(self.export, self.options):
            if not isinstance(item, SourceRecord):
                rejects.append(FeedReject(line=item.line, legacy_id=item.legacy_id, code=item.code,
                                          message=item.message))  # fmt: skip
                continue
            user = item.user
            if user.legacy_id in seen:
                continue
            seen.add(user.legacy_id)
            target = map_user(user, self.mapping, random_password=lambda: _DIFF_PASSWORD)
            if isinstance(target, MappingReject):
                rejects.append(FeedReject(line=item.line, legacy_id=user.legacy_id, code=target.code,
                                          message=target.message))  # fmt: skip
                continue
            fingerprint = fingerprints.get(user.legacy_id)
            fields = field_digests(self.digester, target, self.mapping)
            password = self.digester.of_password(user.password)
            op = _op(fingerprint, fields, password, imported=user.legacy_id in known, disabled=user.disabled)
            if op is None:
                continue
            records.append(self.seal(user, version, op))
            hints.append(ChangeHint(change_id=f"snap-{key}-{short_id(user.legacy_id)}", legacy_id=user.legacy_id,
                                    op=op, seq=version))  # fmt: skip
        vanished = (set(known) | {k for k, fp in fingerprints.items() if not fp.deleted}) - seen
        for legacy_id in sorted(vanished):
            fingerprint = fingerprints.get(legacy_id)
            if fingerprint is not None and fingerprint.deleted:
                continue
            records.append(DropRecord(self.source, legacy_id, version, "delete", b""))
            hints.append(ChangeHint(change_id=f"snap-{key}-{short_id(legacy_id)}", legacy_id=legacy_id, op="delete",
                                    seq=version))  # fmt: skip
        if records:
            await self.store.put_drop_records(records)
        return FeedPage(hints=hints, cursor=key, rejects=rejects)

    async def _imported(self) -> set[str]:
        """Legacy ids of this source that exist in Entra according to the ledger."""
        found: set[str] = set()
        for run in await self.ledger.list_runs():
            if run.source != self.source:
                continue
            async for entry in self.ledger.entries_for_run(run.run_id):
                if entry.outcome in (Outcome.CREATED, Outcome.ALREADY_PRESENT) and entry.object_id:
                    found.add(entry.legacy_id)
        return found


def _op(
    fingerprint: Fingerprint | None, fields: dict[str, str], password: str | None, *, imported: bool, disabled: bool
) -> ChangeOp | None:
    if fingerprint is None:
        return "update" if imported else "create"
    if fingerprint.deleted:
        return "create"
    changed = {k for k in set(fields) | set(fingerprint.fields) if fields.get(k) != fingerprint.fields.get(k)}
    password_changed = password is not None and password != fingerprint.password
    if not changed and not password_changed:
        return None
    if changed == {"accountEnabled"} and not password_changed:
        return "disable" if disabled else "enable"
    if not changed:
        return "password"
    return "update"
