"""The auth0 reader's planning entry (read_auth0_fields) and its JSON shortcut (_loads)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.profiles import load_profile
from shared.sources import SourceReject
from shared.sources.assemble import finish
from shared.sources.auth0 import _loads, read_auth0, read_auth0_fields

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1, "b": [true, null, 1.5, "x\\u00e9"]}',
        ' {"a": 1}',
        '{"a": 1}  ',
        '{"a": 1}\t',
        '{"a": 1} x',
        '{"a": 1}{"b": 2}',
        "{",
        '{"a": }',
        "",
        "[1, 2]",
        '"text"',
        "NaN",
        "1e400",
        "\ufeff{}",
        '{"a": "\\ud800"}',
    ],
)
def test_loads_is_json_loads(text: str) -> None:
    try:
        expected: object = json.loads(text)
    except json.JSONDecodeError as exc:
        with pytest.raises(json.JSONDecodeError) as raised:
            _loads(text)
        assert (raised.value.msg, raised.value.pos) == (exc.msg, exc.pos)
        return
    assert repr(_loads(text)) == repr(expected)


def test_fields_then_finish_is_read_auth0(tmp_path: Path) -> None:
    export = tmp_path / "users.ndjson"
    lines = (SAMPLES / "auth0" / "users.ndjson").read_text().splitlines()
    export.write_text("\n".join([*lines, "{oops", "[1]", '{"email": "x@example.com"}']) + "\n")
    options = load_profile("auth0").source_options()
    unmapped = options.unmapped
    direct = list(read_auth0(export, options))
    options2 = load_profile("auth0").source_options()
    unmapped2 = options2.unmapped
    staged = [i if isinstance(i, SourceReject) else finish(*i) for i in read_auth0_fields(export, options2)]
    assert staged == direct and unmapped2 == unmapped
    assert len(direct) == len(lines) + 3 and sum(isinstance(i, SourceReject) for i in direct) == 3
