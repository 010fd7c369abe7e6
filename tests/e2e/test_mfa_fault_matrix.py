"""MFA methods under the fault matrix (docs/mfa.md): 504 after commit (R3) — of one `$batch` item or of the whole
`$batch` —, redelivery (R1) and kill -9 (R10) give every user exactly the methods of the export, each in its slot,
once. Figures: duplicate methods 0, missing methods 0, misclassified 0 (every written method reported `imported`),
extra POSTs 0 (a method whose answer was lost is read back, never re-sent), every method POST a `$batch` item.

The emulator runs in its own process with a state file, so the test reads what the tenant holds (users and
their authentication methods) from the emulator's saved state, not from anything the CLI reports.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tests.e2e.conftest import LEGACY_ID_ATTR, Cli, EmulatorProcess, read_report, run_args
from tests.e2e.exports import MfaExport, write_mfa_export

TIME_SCALE = 100
CHUNK_SIZE = 50


def tenant_methods(emulator: EmulatorProcess, state_file: Path) -> dict[str, list[tuple[str, str]]]:
    """legacyId → [(slot, value)] as the emulator holds them (every method object, so a duplicate shows)."""
    emulator.save_state()
    saved: dict[str, Any] = json.loads(state_file.read_text())
    legacy_of = {u["id"]: u.get(LEGACY_ID_ATTR) for u in saved["users"]}
    held: dict[str, list[tuple[str, str]]] = {}
    for object_id, methods in saved["authMethods"].items():
        for method in methods.values():
            slot = method.get("phoneType") or "email"
            held.setdefault(legacy_of[object_id], []).append(
                (slot, method.get("phoneNumber") or method["emailAddress"])
            )
    return {k: v for k, v in held.items() if v}


def assert_methods_exactly_once(export: MfaExport, held: dict[str, list[tuple[str, str]]]) -> None:
    duplicates = {k: v for k, v in held.items() if max(Counter(value for _, value in v).values()) > 1}
    assert not duplicates, f"duplicate methods {len(duplicates)}: {sorted(duplicates.items())[:5]}"
    got = {k: dict(v) for k, v in held.items()}
    missing = {k for k, want in export.methods.items() if got.get(k) != want}
    assert not missing, f"users whose methods differ from the export {len(missing)}: {sorted(missing)[:5]}"
    assert set(got) == set(export.methods), f"methods on users without MFA: {sorted(set(got) - set(export.methods))}"


def assert_report_per_method(export: MfaExport, state: Path) -> dict[str, Any]:
    report = read_report(state)
    methods = report["methods"]
    phones = sum(1 for m in export.methods.values() for slot in m if slot != "email")
    emails = sum(1 for m in export.methods.values() if "email" in m)
    assert methods["phone"] == {"imported": phones, "already_present": 0, "pending": 0, "skipped": {}, "failed": {}}
    assert methods["email"] == {"imported": emails, "already_present": 0, "pending": 0, "skipped": {}, "failed": {}}
    assert methods["totp"]["skipped"] == {"mfa_totp_not_importable": export.totp}, methods["totp"]
    assert report["counts"]["created"] == export.total and report["counts"]["failed"] == 0, report["counts"]
    return methods


def test_mfa_504_after_commit_then_a_rerun_duplicates_0_misclassified_0_extra_posts_0(
    tmp_path: Path, emulator_process: Any, cli: Cli
) -> None:
    export = write_mfa_export(tmp_path / "mfa.jsonl", 200)
    state_file = tmp_path / "tenant.json"
    emulator = emulator_process(
        time_scale=TIME_SCALE, faults="504-after-commit=0.2,batch-504-after-commit=0.1", seed=13, state=state_file
    )
    state = tmp_path / "state"
    args = run_args(export.path, emulator, state, time_scale=TIME_SCALE, chunk_size=CHUNK_SIZE)

    first = cli.run(args, timeout=180)

    assert first.returncode == 0, first.stderr[-2000:]
    stats = emulator.stats()
    assert stats["faults"]["injected"].get("504-after-commit", 0) > 10, stats["faults"]
    assert stats["faults"]["injected"].get("batch-504-after-commit", 0) > 2, stats["faults"]
    assert_methods_exactly_once(export, tenant_methods(emulator, state_file))
    assert_report_per_method(export, state)
    posts = stats["authMethods"]["posts"]
    # Every fault here commits before the answer is lost: a client that reads back instead of re-sending POSTs
    # each method exactly once, and all of them as $batch items.
    assert posts == export.writes, f"{posts} method POSTs for {export.writes} methods"
    assert stats["authMethods"]["postsInBatch"] == posts

    emulator.set_faults({"504-after-commit": 0.0, "batch-504-after-commit": 0.0})
    again = cli.run(args, timeout=180)  # the same export again: every chunk delivered a second time

    assert again.returncode == 0, again.stderr[-2000:]
    assert emulator.stats()["authMethods"]["posts"] == posts, "a re-run POSTed methods again (extra POSTs 0)"
    assert_methods_exactly_once(export, tenant_methods(emulator, state_file))
    injected = stats["faults"]["injected"]
    print(f"504-after-commit: {injected['504-after-commit']} items, {injected['batch-504-after-commit']} whole "
          f"batches injected; {posts} method POSTs for {export.writes} methods")  # fmt: skip


def test_mfa_kill9_while_methods_are_written_resumes_to_duplicates_0_missing_0(
    tmp_path: Path, emulator_process: Any, cli: Cli
) -> None:
    export = write_mfa_export(tmp_path / "mfa.jsonl", 400)
    state_file = tmp_path / "tenant.json"
    emulator = emulator_process(time_scale=TIME_SCALE, seed=7, state=state_file)
    state = tmp_path / "state"
    args = run_args(export.path, emulator, state, time_scale=TIME_SCALE, chunk_size=CHUNK_SIZE)
    rng = random.Random(10_013)
    targets = sorted(rng.sample(range(30, export.writes - 30), 3))
    kills = []
    for target in targets:  # by methods in the tenant: each kill lands while methods are being written
        proc = cli.spawn(args, out=tmp_path / "out.log", err=tmp_path / "err.log")
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            if emulator.stats()["authMethods"]["methods"] >= target:
                break
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.03))
        held = emulator.stats()["authMethods"]["methods"]
        kills.append((target, held, cli.kill9(proc)))
        print(f"kill at {target}: {held} methods held", flush=True)
    assert sum(1 for *_, killed in kills if killed) >= 2, f"kills that landed: {kills}"

    final = cli.run(args, timeout=180)

    assert final.returncode == 0, final.stderr[-2000:]
    assert_methods_exactly_once(export, tenant_methods(emulator, state_file))
    assert_report_per_method(export, state)
    posts = emulator.stats()["authMethods"]
    assert posts["postsInBatch"] == posts["posts"], posts  # the batched path is the one under test
    print(f"kills (target methods, methods at kill, killed): {kills}")
