"""The NDJSON readers' JSON shortcut (shared.sources.jsontext.loads) decodes as json.loads does."""

from __future__ import annotations

import json

import pytest

from shared.sources.jsontext import loads


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
            loads(text)
        assert (raised.value.msg, raised.value.pos) == (exc.msg, exc.pos)
        return
    assert repr(loads(text)) == repr(expected)
