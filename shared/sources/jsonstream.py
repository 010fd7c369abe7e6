"""Streams the user objects out of a JSON document without loading it: Firebase, Keycloak, B2C, Cognito.

Finds the array under one of the given keys (`{"users": [...]}`), or a top-level array, and yields
each element with the line it starts on (an element nested too deeply or repeating a key comes as a
SourceReject, and the stream goes on). Several concatenated documents (Cognito ListUsers pages)
are read one after another. Memory is bounded by one element plus one read block; an element larger
than MAX_ELEMENT, malformed JSON or a file that is not JSON at all raises UnreadableExport.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

from shared.sources.base import SourceReject, UnreadableExport, open_text_lines
from shared.sources.jsontext import DuplicateKey, RecordProblem, check_unique_keys, strict_raw_decode, too_deep

MAX_ELEMENT = 16 * 1024 * 1024
_WS = " \t\r\n"
_decoder = json.JSONDecoder()
# Strings (whose brackets don't count) and brackets: enough to find where a nested value ends.
_STRUCTURE = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


class _Window:
    """A sliding text window over the file's lines; positions are relative to the window."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lines = open_text_lines(path)
        self.text = ""
        self.pos = 0
        self.base_line = 1  # line number of text[0]
        # Line counting resumes from the last asked position, so it costs one pass over the text.
        self._mark_pos = 0
        self._mark_line = 1
        self.eof = False
        self.span = (0, 0)  # where the last value() was in text

    def fill(self, want: int = 1 << 16) -> bool:
        """Append at least `want` characters (or the rest of the file). False at end of file."""
        if self.eof:
            return False
        # Drop what has been consumed, counting its lines, so memory stays one element wide.
        if self.pos:
            self.base_line = self.line_at(self.pos)
            self.text = self.text[self.pos :]
            self.pos = 0
            self._mark_pos, self._mark_line = 0, self.base_line
        parts: list[str] = []
        got = 0
        for _, line in self._lines:
            parts.append(line)
            parts.append("\n")
            got += len(line) + 1
            if got >= want:
                break
        else:
            self.eof = True
        self.text += "".join(parts)
        return got > 0

    def line_at(self, pos: int) -> int:
        if pos < self._mark_pos:
            return self.base_line + self.text.count("\n", 0, pos)
        self._mark_line += self.text.count("\n", self._mark_pos, pos)
        self._mark_pos = pos
        return self._mark_line

    def peek(self) -> str:
        """The next non-blank character ('' at end of file), leaving pos on it."""
        while True:
            text, pos = self.text, self.pos
            while pos < len(text) and text[pos] in _WS:
                pos += 1
            self.pos = pos
            if pos < len(text):
                return text[pos]
            if not self.fill():
                return ""

    def expect(self, chars: str, what: str) -> str:
        char = self.peek()
        if not char or char not in chars:
            found = f"{char!r}" if char else "end of file"
            raise UnreadableExport(self.path, self.line_at(self.pos), f"malformed JSON: expected {what}, found {found}")
        self.pos += 1
        return char

    def element(self) -> Any:
        """The value at pos, or a RecordProblem for one nested too deeply or repeating a key.

        Either way pos ends after the value, so the next element reads normally.
        """
        try:
            try:
                return self.value(strict_raw_decode)  # refuses repeated keys as it decodes
            except DuplicateKey:  # pos is still on the value: decode it whole, then name the repeated key
                value = self.value()
        except RecursionError:
            self.skip()
            return too_deep()
        begin, end = self.span
        try:
            check_unique_keys(self.text[begin:end], value)
        except RecordProblem as problem:
            return problem
        return value

    def skip(self) -> None:
        """Move pos past the array or object at pos without decoding it (no recursion: any depth)."""
        want = 1 << 16
        while True:
            depth = 0
            for match in _STRUCTURE.finditer(self.text, self.pos):
                char = match.group()
                if char in "[{":
                    depth += 1
                elif char in "]}":
                    depth -= 1
                    if depth == 0:
                        self.pos = match.end()
                        return
            if len(self.text) - self.pos > MAX_ELEMENT:
                raise UnreadableExport(self.path, self.line_at(self.pos), f"a record over {MAX_ELEMENT >> 20} MB")
            if not self.fill(want):
                raise UnreadableExport(self.path, self.line_at(self.pos), "truncated JSON (a value never closes)")
            want *= 2

    def value(self, decode: Callable[[str, int], tuple[Any, int]] = _decoder.raw_decode) -> Any:
        """Decode the JSON value at pos, reading more of the file while it is incomplete."""
        self.peek()
        want = 1 << 16
        while True:
            try:
                begin = self.pos
                value, end = decode(self.text, self.pos)
            except json.JSONDecodeError as exc:
                if len(self.text) - self.pos > MAX_ELEMENT:
                    raise UnreadableExport(
                        self.path, self.line_at(self.pos), f"malformed JSON or a record over {MAX_ELEMENT >> 20} MB"
                    ) from None
                if not self.fill(want):
                    line = self.line_at(min(exc.pos, len(self.text)))
                    raise UnreadableExport(self.path, line, f"malformed or truncated JSON ({exc.msg})") from None
                want *= 2  # geometric growth keeps re-decoding of a large element linear
                continue
            self.pos = end
            self.span = (begin, end)
            return value


def stream_array(path: Path, keys: frozenset[str], *, what: str) -> Iterator[tuple[int, Any]]:
    """Yield (line, element) of every array found under `keys` (or at top level) in the file."""
    window = _Window(path)
    found_array = False
    while True:
        first = window.peek()
        if not first:
            break
        if first == "[":
            found_array = True
            yield from _elements(window)
        elif first == "{":
            start = window.line_at(window.pos)
            window.pos += 1
            if not (yield from _members(window, keys)):
                # Each document must hold the array: fail on the first one, not after reading them all.
                names = " or ".join(repr(k) for k in sorted(keys))
                raise UnreadableExport(path, start, f"a JSON object without a {names} array; is --source right?")
            found_array = True
        else:
            raise UnreadableExport(
                path,
                window.line_at(window.pos),
                f"not a JSON {what} export (starts with {first!r}); is --source right?",
            )
    if not found_array:
        names = " or ".join(repr(k) for k in sorted(keys))
        raise UnreadableExport(path, window.line_at(window.pos), f"no {names} array found; is --source right?")


def _members(window: _Window, keys: frozenset[str]) -> Generator[tuple[int, Any], None, bool]:
    """Walk one object's members; stream arrays under `keys`, skip other values. Returns whether found."""
    found = False
    if window.peek() == "}":
        window.pos += 1
        return found
    while True:
        if window.peek() != '"':
            window.expect('"', "a member name")
        name = window.value()
        window.expect(":", "':'")
        if name in keys and window.peek() == "[":
            found = True
            yield from _elements(window)
        elif window.peek() in "[{":
            window.skip()  # not the users: its content doesn't matter, and any depth is fine
        else:
            window.value()
        if window.expect(",}", "',' or '}'") == "}":
            return found


def _elements(window: _Window) -> Iterator[tuple[int, Any]]:
    window.expect("[", "'['")
    if window.peek() == "]":
        window.pos += 1
        return
    while True:
        window.peek()
        line = window.line_at(window.pos)
        element = window.element()
        if isinstance(element, RecordProblem):
            yield line, SourceReject(line, None, element.reason, element.message)
        else:
            yield line, element
        if window.expect(",]", "',' or ']'") == "]":
            return
