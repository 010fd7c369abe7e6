"""The `changes.jsonl` drop: a custom database's change feed, one JSON object per line.

Each line is the interchange record (LegacyUser, camelCase) plus `op` (create, update, disable, enable, delete,
password) and a monotonic `seq`. Lines may arrive out of seq order: per user the highest seq wins. The feed is
also the LegacyState: every valid line is stored sealed (it may hold a password hash) in the sync store, and
`read_version` opens the user's highest-seq record.

Cursor: the number of the last line read (appending to the file is the way to add changes; gzip accepted). A
bad line gets a reason code and a one-line message, as the import readers give, and the drop goes on; a file
that can't be read at all raises UnreadableExport naming file, line and cause.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path
from typing import Any, get_args

from shared.reasons import Reason
from shared.records import LegacyUser, reveal_secrets
from shared.sealing import Sealer
from shared.sources.base import SourceRecord, open_text_lines
from shared.sources.jsonl import record_from_json
from shared.sync.feed import ChangeHint, ChangeOp, FeedPage, FeedReject
from shared.sync.store import DropRecord, SyncStore

DROP_OPS = tuple(op for op in get_args(ChangeOp) if op != "unknown")
PAGE_SIZE = 500


def short_id(legacy_id: str) -> str:
    """A short, stable stand-in for a legacy id inside message ids (which Service Bus caps at 128 characters)."""
    return hashlib.blake2b(legacy_id.encode(), digest_size=10).hexdigest()


class UnknownToFeed(LookupError):
    """The feed holds no record of this user: it says nothing about them (not "deleted")."""


def record_name(source: str, legacy_id: str, seq: int) -> str:
    return f"sync/{source}/{legacy_id}/{seq}"


class SealedRecords:
    """The LegacyState over the store's sealed records (the drop's, or a snapshot's)."""

    def __init__(self, source: str, store: SyncStore, sealer: Sealer) -> None:
        self.source = source
        self.store = store
        self.sealer = sealer

    def seal(self, user: LegacyUser, seq: int, op: str) -> DropRecord:
        name = record_name(self.source, user.legacy_id, seq)
        body = json.dumps(reveal_secrets(user), separators=(",", ":")).encode()
        return DropRecord(self.source, user.legacy_id, seq, op, self.sealer.seal(body, name))

    async def read_version(self, legacy_id: str) -> tuple[LegacyUser | None, int | None]:
        """The user's highest-seq record; None when its op is delete. UnknownToFeed when there is no record."""
        record = await self.store.get_drop_record(self.source, legacy_id)
        if record is None:
            raise UnknownToFeed(legacy_id)
        if record.op == "delete":
            return None, record.seq
        opened = self.sealer.open(record.sealed, record_name(self.source, legacy_id, record.seq))
        user = LegacyUser.model_validate_json(opened)
        if record.op in ("disable", "enable"):
            user = user.model_copy(update={"disabled": record.op == "disable"})
        return user, record.seq

    async def read_user(self, legacy_id: str) -> LegacyUser | None:
        user, _ = await self.read_version(legacy_id)
        return user


class ChangeDrop(SealedRecords):
    """ChangeFeed + LegacyState over a changes.jsonl file."""

    retention: timedelta | None = None  # a file keeps its lines

    def __init__(self, path: Path, store: SyncStore, sealer: Sealer, *, source: str = "jsonl",
                 page_size: int = PAGE_SIZE) -> None:  # fmt: skip
        super().__init__(source, store, sealer)
        self.path = path
        self.page_size = page_size

    async def read(self, cursor: str | None) -> FeedPage:
        after = int(cursor) if cursor else 0
        if self.path.exists() and self.path.stat().st_size == 0:
            return FeedPage(hints=[], cursor=cursor)  # an empty drop: nothing changed yet
        hints: list[ChangeHint] = []
        rejects: list[FeedReject] = []
        records: dict[str, DropRecord] = {}
        last = after
        more = False
        for line_no, text in open_text_lines(self.path):
            if line_no <= after:
                continue
            if len(hints) + len(rejects) >= self.page_size:
                more = True
                break
            last = line_no
            if not text.strip():
                continue
            parsed = parse_drop_line(line_no, text)
            if isinstance(parsed, FeedReject):
                rejects.append(parsed)
                continue
            user, op, seq = parsed
            sealed = self.seal(user, seq, op)
            kept = records.get(user.legacy_id)
            if kept is None or seq > kept.seq:
                records[user.legacy_id] = sealed
            change_id = f"seq-{seq}-{short_id(user.legacy_id)}"  # seq may be per user: the id names the user too
            hints.append(ChangeHint(change_id=change_id, legacy_id=user.legacy_id, op=op, seq=seq))
        # Checkpoint before emit: the records the hints point at are stored before any hint leaves.
        if records:
            await self.store.put_drop_records(list(records.values()))
        return FeedPage(hints=hints, cursor=str(last), more=more, rejects=rejects)


def parse_drop_line(line_no: int, text: str) -> tuple[LegacyUser, str, int] | FeedReject:
    try:
        obj: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        return FeedReject(line=line_no, legacy_id=None, code=Reason.INVALID_JSON,
                          message=f"not JSON: {exc.msg} at column {exc.colno}")  # fmt: skip
    if not isinstance(obj, dict):
        return FeedReject(line=line_no, legacy_id=None, code=Reason.INVALID_JSON,
                          message="a line must hold one JSON object")  # fmt: skip
    legacy_id = obj.get("legacyId") if isinstance(obj.get("legacyId"), str) else None
    op, seq = obj.pop("op", None), obj.pop("seq", None)
    if op is None or seq is None:
        missing = " and ".join(name for name, value in (("op", op), ("seq", seq)) if value is None)
        return FeedReject(line=line_no, legacy_id=legacy_id, code=Reason.MISSING_FIELD,
                          message=f"a change needs {missing}")  # fmt: skip
    if op not in DROP_OPS:
        return FeedReject(line=line_no, legacy_id=legacy_id, code=Reason.INVALID_RECORD,
                          message=f"op must be one of {', '.join(DROP_OPS)}")  # fmt: skip
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        return FeedReject(line=line_no, legacy_id=legacy_id, code=Reason.INVALID_RECORD,
                          message="seq must be a non-negative integer")  # fmt: skip
    item = record_from_json(line_no, obj)
    if not isinstance(item, SourceRecord):
        return FeedReject(line=line_no, legacy_id=item.legacy_id, code=item.code, message=item.message)
    return item.user, str(op), seq


__all__ = ["DROP_OPS", "ChangeDrop", "SealedRecords", "UnknownToFeed", "parse_drop_line", "record_name"]
