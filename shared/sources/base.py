"""What every source reader yields, and how export files are opened.

A reader is `(path, options) -> Iterator[SourceRecord | SourceReject]`, streaming in constant memory.
A record that cannot be used is a SourceReject with a reason code and the run goes on; a file that
cannot be read at all raises UnreadableExport, whose text is one line naming file, line and cause.
"""

from __future__ import annotations

import codecs
import gzip
import io
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from shared.records import RejectedRecord, SourceRecord

__all__ = [
    "AttributeSpec", "HashSpec", "MalformedHash", "SourceItem", "SourceOptions", "SourceReader", "SourceRecord",
    "SourceReject", "UnknownSource", "UnmappedFeatures", "UnreadableExport", "open_text_lines",
]  # fmt: skip

GZIP_MAGIC = b"\x1f\x8b"


SourceReject = RejectedRecord  # the one reject type, under the name readers have always used
SourceItem = SourceRecord | RejectedRecord


@dataclass
class UnmappedFeatures:
    """Counts vendor features met in the export that have no Entra equivalent (the plan lists them)."""

    counts: Counter[str] = field(default_factory=Counter)

    def note(self, feature: str, users: int = 1) -> None:
        self.counts[feature] += users


@dataclass(frozen=True)
class AttributeSpec:
    """A custom attribute the profile declares: its extension name and dataType."""

    name: str
    type: str = "String"


@dataclass(frozen=True)
class HashSpec:
    """The profile's [hash] table: the algorithm and its parameters as shared/passwords reads them."""

    algorithm: str
    params: dict[str, Any] = field(default_factory=dict)


MalformedHash = Literal["reject", "reset"]


@dataclass(frozen=True)
class SourceOptions:
    """Per-run reader options: the mapping profile's reader section, typed.

    `attributes` is keyed by the source path the value is read from. `unmapped` collects the vendor
    features the readers meet without an Entra equivalent (the plan lists them).
    `malformed_hash`: a passwordHash that is not a string is a reject, or (``reset``) a counted warning
    with the user put on the reset path.
    """

    fields: dict[str, str] = field(default_factory=dict)
    transforms: dict[str, list[str]] = field(default_factory=dict)
    attributes: dict[str, AttributeSpec] = field(default_factory=dict)
    attributes_from: tuple[str, ...] = ()
    identity_providers: dict[str, str] = field(default_factory=dict)
    email_enabled: bool = True
    username_enabled: bool = True
    default_phone_region: str | None = None
    delimiter: str = ","
    graph_app_id: str | None = None
    graph_extensions: tuple[str, ...] = ()
    hash: HashSpec | None = None
    malformed_hash: MalformedHash = "reject"
    unmapped: UnmappedFeatures = field(default_factory=UnmappedFeatures, compare=False)


class SourceReader(Protocol):
    def __call__(self, path: Path, options: SourceOptions) -> Iterator[SourceItem]: ...


class UnreadableExport(Exception):
    """The export file cannot be read at all. str() is the one-line message shown to the user."""

    def __init__(self, path: Path | str, line: int | None, cause: str) -> None:
        self.path = str(path)
        self.line = line
        self.cause = cause
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {cause}")


class UnknownSource(Exception):
    pass


def open_text_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield (line number, text) from a UTF-8 file, gzip'd or not, decoding incrementally.

    Raises UnreadableExport naming the line for a missing file, a truncated/corrupt gzip stream,
    invalid UTF-8, or an empty file.
    """
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise UnreadableExport(path, None, f"cannot open: {exc.strerror or exc}") from None
    with raw:
        head = raw.read(2)
        raw.seek(0)
        stream: io.BufferedIOBase = gzip.GzipFile(fileobj=raw) if head == GZIP_MAGIC else raw
        decoder = codecs.getincrementaldecoder("utf-8-sig")()
        pending = ""
        line_no = 0
        seen_any = False
        while True:
            try:
                block = stream.read(1 << 16)
            except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
                raise UnreadableExport(path, line_no + 1, f"gzip stream is truncated or corrupt ({exc})") from None
            try:
                text = decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                bad_line = line_no + 1 + pending.count("\n") + block[: max(exc.start, 0)].count(b"\n")
                raise UnreadableExport(path, bad_line, "invalid UTF-8") from None
            if not block:
                if pending:
                    line_no += 1
                    seen_any = True
                    yield line_no, pending
                break
            pending += text
            *complete, pending = pending.split("\n")
            for item in complete:
                line_no += 1
                seen_any = True
                yield line_no, item.rstrip("\r")
        if not seen_any:
            raise UnreadableExport(path, None, "the file is empty")
