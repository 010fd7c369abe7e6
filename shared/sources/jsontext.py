"""Decoding one JSON record's text strictly: duplicate keys and runaway nesting become a RecordProblem.

In: the text of one record (an NDJSON line, one element of a streamed array) and, where the caller
already decoded it, the value. Out: the value, or RecordProblem(reason, message), one rejected record.
`json` keeps the last of two equal keys silently (a second `password` would win unseen) and raises
RecursionError on deep nesting; neither may escape a reader. Messages never quote the text.

`decode_record` decodes with a hook that compares each object's keys as the C scanner completes it
(one pass). `check_unique_keys` serves text already decoded without it: every key in the text ends
in `"` then optional whitespace then `:`, so when the text holds no more such places than the decoded
value holds keys, no key can repeat; only otherwise is the text decoded again with the hook.
"""

from __future__ import annotations

import json
import json.scanner
import re
from collections.abc import Callable
from typing import Any, cast

from shared.reasons import Reason, safe_key

_KEY_END = re.compile(r'"[ \t\r\n]*:')

# The C scanner json.loads ends in, called directly: json.loads' wrapper (leading-whitespace regex,
# raw_decode, end check) is a quarter of its cost on a short line. Anything unusual goes to json.loads.
_scan: Callable[[str, int], tuple[Any, int]] = json.scanner.make_scanner(cast(Any, json.JSONDecoder()))


def loads(text: str) -> Any:
    """json.loads(text), same result and same errors; the common case skips the wrapper."""
    try:
        value, end = _scan(text, 0)
    except RecursionError:
        raise
    except Exception:  # StopIteration, JSONDecodeError, …: json.loads raises the proper error
        return json.loads(text)
    if end != len(text):
        return json.loads(text)  # trailing whitespace (fine) or extra data (an error)
    return value


class RecordProblem(Exception):
    """One record that cannot be used; the reader turns it into a reject with this reason and message."""

    def __init__(self, reason: Reason, message: str) -> None:
        self.reason = reason
        self.message = message
        super().__init__(message)


class DuplicateKey(Exception):
    """A repeated key met while decoding with the strict hook (strict_raw_decode)."""

    def __init__(self, key: str) -> None:
        self.key = key


def too_deep() -> RecordProblem:
    return RecordProblem(Reason.JSON_TOO_DEEP, "the record nests JSON arrays/objects too deeply to read")


def _count_keys(value: Any) -> int:
    count = 0
    stack = [value]
    pop, push = stack.pop, stack.append
    while stack:
        item = pop()
        kind = type(item)
        if kind is dict:
            count += len(item)
            for inner in item.values():
                if type(inner) is dict or type(inner) is list:
                    push(inner)
        elif kind is list:
            for inner in item:
                if type(inner) is dict or type(inner) is list:
                    push(inner)
    return count


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return result


_STRICT = json.JSONDecoder(object_pairs_hook=_refuse_duplicates)
_strict_scan: Callable[[str, int], tuple[Any, int]] = json.scanner.make_scanner(cast(Any, _STRICT))


def _repeated(key: str) -> RecordProblem:
    return RecordProblem(Reason.DUPLICATE_KEY, f"the key {safe_key(key)!r} appears twice in one object")


def decode_record(text: str) -> Any:
    """json.loads(text) then check_unique_keys, in one pass: the value, RecordProblem for a repeated key;
    JSONDecodeError and RecursionError as json.loads raises them (they win over a repeated key)."""
    try:
        try:
            value, end = _strict_scan(text, 0)
        except (RecursionError, DuplicateKey):
            raise
        except Exception:  # StopIteration, JSONDecodeError, …: json.loads raises the proper error
            return json.loads(text, object_pairs_hook=_refuse_duplicates)
        if end != len(text):  # trailing whitespace (fine) or extra data (an error)
            return json.loads(text, object_pairs_hook=_refuse_duplicates)
        return value
    except DuplicateKey as exc:
        json.loads(text)  # malformed or too deep: reported as such, as a decode then a key check would
        raise _repeated(exc.key) from None


def strict_raw_decode(text: str, pos: int) -> tuple[Any, int]:
    """JSONDecoder.raw_decode refusing repeated keys: raises DuplicateKey (for the caller to re-read the
    value without the hook and call check_unique_keys once it is whole)."""
    try:
        return _strict_scan(text, pos)
    except StopIteration as err:
        raise json.JSONDecodeError("Expecting value", text, err.value) from None


def check_unique_keys(text: str, value: Any) -> None:
    """Raise RecordProblem when an object in `text` (which decodes to `value`) repeats a key."""
    if type(value) is not dict and type(value) is not list:
        return
    keys = _count_keys(value)
    if text.count('":') == keys and len(_KEY_END.findall(text)) == keys:
        return
    try:
        json.loads(text, object_pairs_hook=_refuse_duplicates)
    except DuplicateKey as exc:
        raise _repeated(exc.key) from None
    except RecursionError:
        raise too_deep() from None
