"""The bulk import leaves the sync a baseline: the first snapshot diff after it touches only users whose legacy
record changed since their export, counted by the tenant emulator itself (GET /_emulator/stats).

Given the sample export imported (`run`), and a nightly snapshot where K of its users changed, when one sync pass
diffs the snapshot, then Graph sees exactly K reads and K writes for users (one GET + one PATCH per changed user),
not one read per imported user, and the tenant equals the legacy side. Without the baseline (the fingerprints
forgotten, as an import before this change left them) the same pass reads every imported user.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cli.run_cmd import execute_run
from cli.sync_cmd import execute_sync
from shared.outcomes import Outcome
from shared.sync.sqlite_store import SYNC_DB, SqliteSyncStore
from tests.conftest import SAMPLE, emulator_stats, settings_for
from tests.sync.conftest import differences, write_jsonl

K = 7


def graph_counts(handle: Any) -> tuple[int, int]:
    """(requests, writes) the emulator has answered so far, over every app."""
    apps = emulator_stats(handle)["apps"].values()
    return sum(a["requests"] for a in apps), sum(a["writes"] for a in apps)


def nightly(records: list[dict[str, Any]], changed: list[int]) -> list[dict[str, Any]]:
    """The export again, with K users edited in legacy (a new surname) after their export."""
    out = [dict(r) for r in records]
    for i in changed:
        out[i]["surname"] = f"Changed{i}"
    return out


async def one_pass(handle: Any, state: Path, snapshot: Path) -> tuple[int, int, dict[str, Any]]:
    """(Graph reads, Graph writes, summary) of one `sync --snapshot … --once` pass."""
    requests0, writes0 = graph_counts(handle)
    summary = await execute_sync("jsonl", settings_for(handle, state), feed=None, snapshot=snapshot, every=None,
                                 once=True, show_progress=False)  # fmt: skip
    requests1, writes1 = graph_counts(handle)
    return (requests1 - requests0) - (writes1 - writes0), writes1 - writes0, summary


async def imported(handle: Any, state: Path, export: Path) -> dict[str, Outcome]:
    run = await execute_run(export, "jsonl", settings_for(handle, state), show_progress=False)
    assert run.created > 0 and run.finished_at is not None, run
    store = SqliteSyncStore(state / SYNC_DB)
    try:
        return {fp.legacy_id: Outcome.CREATED async for fp in store.fingerprints("jsonl")}
    finally:
        store.close()


async def test_the_first_snapshot_diff_after_an_import_reads_and_writes_only_the_changed_users(
    start_emulator, tmp_path
):
    emulator = start_emulator(time_scale=50)
    state = tmp_path / "state"
    records = [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]
    export = write_jsonl(tmp_path / "export.jsonl", records)
    baselined = await imported(emulator, state, export)
    in_tenant = {str(u) for u in _tenant_ids(emulator)}
    # every created user has a baseline, and nobody else (rejected or failed users get none)
    assert set(baselined) == in_tenant and len(in_tenant) > 100, (len(baselined), len(in_tenant))

    ids = sorted(in_tenant)
    changed_ids = {ids[i * len(ids) // K] for i in range(K)}
    changed = [i for i, r in enumerate(records) if r.get("legacyId") in changed_ids]
    after_export = nightly(records, changed)
    snapshot = write_jsonl(tmp_path / "nightly.jsonl", after_export)
    reads, writes, summary = await one_pass(emulator, state, snapshot)

    assert summary["queued"] == K, summary
    assert (reads, writes) == (K, K), f"{reads} reads, {writes} writes for {K} changed of {len(ids)} imported"
    assert summary["counters"].get("updated") == K and summary["counters"].get("conflicts", 0) == 0, summary
    # the rig selects the standard properties only: compare those (custom attributes didn't change)
    legacy: dict[str, dict[str, Any]] = {}
    for r in after_export:  # the first record of an id is the one imported and diffed (the sample repeats some)
        if r.get("legacyId") in in_tenant:
            legacy.setdefault(r["legacyId"], {k: v for k, v in r.items() if k != "attributes"})
    assert differences(emulator.base_url, legacy) == []


async def test_without_the_baseline_the_same_pass_reads_every_imported_user(start_emulator, tmp_path):
    """The cost the baseline saves: forget the import's fingerprints and the first diff reads all N users."""
    emulator = start_emulator(time_scale=50)
    state = tmp_path / "state"
    records = [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]
    baselined = await imported(emulator, state, write_jsonl(tmp_path / "export.jsonl", records))
    store = SqliteSyncStore(state / SYNC_DB)
    await store.forget_fingerprints("jsonl", list(baselined))
    store.close()
    changed = [i for i, r in enumerate(records) if r.get("legacyId") in sorted(baselined)[:K]]
    snapshot = write_jsonl(tmp_path / "nightly.jsonl", nightly(records, changed))
    reads, writes, summary = await one_pass(emulator, state, snapshot)
    assert summary["queued"] == len(baselined), summary
    assert reads >= len(baselined) and writes == K, (reads, writes, len(baselined))


def _tenant_ids(handle: Any) -> list[str]:
    from tests.sync.conftest import tenant_users

    return list(tenant_users(handle.base_url))
