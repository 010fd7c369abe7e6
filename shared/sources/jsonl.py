"""The `jsonl` source: one interchange record (LegacyUser, camelCase keys) per line; gzip accepted.

Blank lines are skipped. A line that is not a JSON object, nests too deeply, repeats a key, or is
not a valid record (unknown keys included), is rejected with a reason code; the reader goes on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from shared.reasons import Reason, describe_validation_error
from shared.records import LegacyUser
from shared.sources.base import (
    SourceItem,
    SourceOptions,
    SourceRecord,
    SourceReject,
    UnreadableExport,
    open_text_lines,
)
from shared.sources.jsontext import RecordProblem, decode_record, too_deep


def read_jsonl(path: Path, options: SourceOptions) -> Iterator[SourceItem]:
    first = True
    for line_no, text in open_text_lines(path):
        if not text.strip():
            continue
        try:
            obj = decode_record(text)
        except RecursionError:
            first = False
            problem = too_deep()
            yield SourceReject(line_no, None, problem.reason, problem.message)
            continue
        except RecordProblem as problem:
            first = False
            yield SourceReject(line_no, None, problem.reason, problem.message)
            continue
        except json.JSONDecodeError as exc:
            if first:
                # A first line that is not JSON means the wrong --source, not one bad record.
                raise UnreadableExport(path, line_no, f"not JSON lines ({exc.msg}); is --source right?") from None
            yield SourceReject(line_no, None, Reason.INVALID_JSON, f"not JSON: {exc.msg} at column {exc.colno}")
            continue
        first = False
        yield record_from_json(line_no, obj)


def record_from_json(line_no: int, obj: object) -> SourceItem:
    """One parsed line as an interchange record, or a reject with a reason code (also used by the change drop)."""
    if not isinstance(obj, dict):
        return SourceReject(line_no, None, Reason.INVALID_JSON, "a line must hold one JSON object")
    legacy_id = obj.get("legacyId")
    try:
        return SourceRecord(line_no, LegacyUser.model_validate(obj))
    except ValidationError as exc:
        code, message = describe_validation_error(exc)
        return SourceReject(line_no, legacy_id if isinstance(legacy_id, str) else None, code, message)
