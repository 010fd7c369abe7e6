"""The incremental JSON-array reader: streams elements with their line, across read-block boundaries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.sources import UnreadableExport
from shared.sources.jsonstream import stream_array


def test_elements_across_blocks_keep_their_lines(tmp_path: Path) -> None:
    users = [{"localId": str(i), "bio": "x" * (i % 5000)} for i in range(300)]  # ~750 KB: many blocks
    export = tmp_path / "users.json"
    export.write_text(
        '{"kind": {"nested": [1, {"users": []}]},\n "users": [\n' + ",\n".join(json.dumps(u) for u in users) + "\n]}\n"
    )
    got = list(stream_array(export, frozenset({"users"}), what="test"))
    assert [u["localId"] for _, u in got] == [str(i) for i in range(300)]
    assert [line for line, _ in got] == list(range(3, 303))


def test_only_the_named_array_is_streamed(tmp_path: Path) -> None:
    export = tmp_path / "realm.json"
    export.write_text(
        json.dumps(
            {"realm": "acme", "roles": {"users": "not-an-array"}, "groups": [{"users": 1}], "users": [{"id": "a"}]}
        )
    )
    assert [u for _, u in stream_array(export, frozenset({"users"}), what="test")] == [{"id": "a"}]


def test_a_document_without_the_array_is_the_wrong_source(tmp_path: Path) -> None:
    export = tmp_path / "x.json"
    export.write_text('\n\n{"Users": []}\n')
    with pytest.raises(UnreadableExport, match=r"x.json:3: a JSON object without a 'users' array; is --source right\?"):
        list(stream_array(export, frozenset({"users"}), what="test"))


def test_garbage_between_elements_names_its_line(tmp_path: Path) -> None:
    export = tmp_path / "x.json"
    export.write_text('{"users": [\n{"id": 1},\n{"id": 2} oops\n]}')
    with pytest.raises(UnreadableExport, match=r"x.json:3: malformed JSON: expected ',' or '\]'"):
        list(stream_array(export, frozenset({"users"}), what="test"))
