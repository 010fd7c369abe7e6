"""Reads CSV exports row by row (Okta, Cognito's import format, any CSV through a profile).

The first row is the header. A header without the user-id column means this is not the export the
--source names: UnreadableExport on line 1, not one reject per row; so is a header naming a column
twice. A row with the wrong number of
cells is rejected with its line and the reader goes on. Rows spanning lines (quoted newlines) work.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from shared.reasons import Reason, safe_key
from shared.sources.base import SourceReject, UnreadableExport, open_text_lines

Row = dict[str, str]


def _with_newlines(path: Path) -> Iterator[str]:
    for _, text in open_text_lines(path):
        yield text + "\n"


def read_rows(
    path: Path, *, vendor: str, id_columns: tuple[str, ...], delimiter: str = ","
) -> Iterator[tuple[int, Row | SourceReject]]:
    """Yield (line, row as {header: cell}) or (line, SourceReject). `id_columns`: any one must exist."""
    reader = csv.reader(_with_newlines(path), delimiter=delimiter, strict=False)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise UnreadableExport(path, None, "the file is empty") from None
    except csv.Error as exc:
        raise UnreadableExport(path, 1, f"not a {vendor} CSV ({exc}); is --source right?") from None
    repeated = next((name for n, name in enumerate(header) if name and name in header[:n]), None)
    if repeated is not None:
        # csv.DictReader-style rows would keep the last cell silently (a second password column wins).
        raise UnreadableExport(path, 1, f"the header names the column {safe_key(repeated)!r} twice")
    if not any(column in header for column in id_columns):
        wanted = " or ".join(repr(c) for c in id_columns)
        raise UnreadableExport(path, 1, f"not a {vendor} CSV: the header has no {wanted} column; is --source right?")
    width = len(header)
    last_line = reader.line_num
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield last_line + 1, SourceReject(last_line + 1, None, Reason.INVALID_RECORD, f"malformed CSV row ({exc})")
            last_line = reader.line_num
            continue
        line = last_line + 1
        last_line = reader.line_num
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue
        if len(cells) != width:
            yield (
                line,
                SourceReject(
                    line, None, Reason.INVALID_RECORD, f"row has {len(cells)} cells but the header has {width}"
                ),
            )
            continue
        yield line, dict(zip(header, cells, strict=True))
