"""The NDJSON readers' JSON shortcut (shared.sources.jsontext.loads) decodes as json.loads does."""

from __future__ import annotations

import json

import pytest

from shared.sources.jsontext import RecordProblem, check_unique_keys, decode_record, loads


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


def _loads_then_check(text: str) -> tuple[str, object]:
    try:
        value = json.loads(text)
        check_unique_keys(text, value)
    except RecordProblem as problem:
        return "problem", (problem.reason, problem.message)
    except json.JSONDecodeError as exc:
        return "json", (exc.msg, exc.pos)
    except RecursionError:
        return "deep", None
    return "value", repr(value)


def _decode_record(text: str) -> tuple[str, object]:
    try:
        value = decode_record(text)
    except RecordProblem as problem:
        return "problem", (problem.reason, problem.message)
    except json.JSONDecodeError as exc:
        return "json", (exc.msg, exc.pos)
    except RecursionError:
        return "deep", None
    return "value", repr(value)


DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1, "b": {"c": [1, {"d": 2}]}}',
        '{"a": 1, "a": 2}',
        '{"a": {"x": 1, "x": 2}, "b": 1, "b": 2}',
        '{"a": [{"k": 1}, {"k": 1, "k": 2}]}',
        '{"a": 1, "a": 2} x',  # not JSON wins over the repeated key
        '{"a": 1, "a": 2',
        '{"a": 1, "a": 2}  ',
        '{"a" : 1, "a"\t: 2}',
        '{"\\u0061": 1, "a": 2}',
        '{"a": "\\":", "b": 1}',
        "\ufeff{}",
        '{"a": 1, "a": 2, "deep": ' + DEEP + "}",
        DEEP,
        "",
        "[1, 2]",
    ],
)
def test_decode_record_is_loads_then_check_unique_keys(text: str) -> None:
    assert _decode_record(text) == _loads_then_check(text)
