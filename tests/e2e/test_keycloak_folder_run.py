"""`run` takes a Keycloak realm exported as a folder of <realm>-users-N.json files, as `plan` does."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import Cli, read_report, run_args

TIME_SCALE = 50


def _folder(path: Path, files: int, per_file: int) -> Path:
    path.mkdir()
    (path / "acme-realm.json").write_text(json.dumps({"realm": "acme", "users": []}), encoding="utf-8")
    for n in range(files):
        users = [{"id": f"kc-{n}-{i}", "username": f"user{n}x{i}", "email": f"u{n}x{i}@example.com", "enabled": True}
                 for i in range(per_file)]  # fmt: skip
        (path / f"acme-users-{n}.json").write_text(json.dumps({"realm": "acme", "users": users}), encoding="utf-8")
    return path


def test_a_keycloak_folder_export_is_imported_every_file_once(tmp_path, emulator_process, cli: Cli):
    emulator = emulator_process(time_scale=TIME_SCALE)
    export = _folder(tmp_path / "realm", files=3, per_file=20)
    state = tmp_path / "state"
    args = run_args(export, emulator, state, time_scale=TIME_SCALE, chunk_size=25, source="keycloak")
    first = cli.run(args, timeout=180)
    assert first.returncode == 0, first.stderr
    assert read_report(state)["counts"]["created"] == 60
    assert emulator.users() == 60
    again = cli.run(args, timeout=180)  # the same folder: the finished run is not repeated, nobody is created twice
    assert again.returncode == 0, again.stderr
    assert emulator.users() == 60
