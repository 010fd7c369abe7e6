"""Lost JIT hashes under heavy faults (issue: data-integrity defects): the import, in process, against the emulator.

Heavy 429s (the emulator's per-app quota is a sixth of what the client believes, no inline wait), 503 at 0.15,
504-after-commit at 0.3, read-after-write lag at 0.2 and shuffled $batch answers, 1,500 users into a
fresh tenant. Promises: nothing this run created is reported already_present (the tenant was empty),
every user in the tenant is in the id map as created, and every user flagged toBeMigrated has its hash
in the vault. The normal suite runs one repetition; `pytest -m slow` runs the five the issue asks for.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from cli.run_cmd import run_and_report
from emulator import DEFAULT_EXTENSIONS_APP_ID
from emulator.config import Quotas
from shared.adapters.graph.client import emulator_token
from shared.bootstrap import open_local_vault
from tests.conftest import settings_for
from tests.e2e.exports import write_export
from tests.tenant_reads import get_page

USERS = 1_500
HEAVY_FAULTS = {"503": 0.15, "504-after-commit": 0.3, "lag": 0.2}
APP = DEFAULT_EXTENSIONS_APP_ID.replace("-", "")
FLAG, LEGACY_ID = f"extension_{APP}_toBeMigrated", f"extension_{APP}_legacyId"


def flagged_users(base_url: str) -> dict[str, str]:
    """{object id: legacyId} of every tenant user flagged toBeMigrated, through Graph paging (bounded)."""
    headers = {"Authorization": "Bearer " + emulator_token().token}
    url: str | None = f"{base_url}/v1.0/users?$select=id,{FLAG},{LEGACY_ID}&$top=999"
    flagged: dict[str, str] = {}
    for _ in range(100):
        if not url:
            break
        page = get_page(url, headers)
        flagged.update({u["id"]: u[LEGACY_ID] for u in page["value"] if u.get(FLAG) is True})
        url = page.get("@odata.nextLink")
    assert not url, "user listing did not end"
    return flagged


async def import_under_heavy_faults(start_emulator, work: Path, seed: int) -> None:
    emulator = start_emulator(
        time_scale=60, seed=seed, faults=HEAVY_FAULTS, shuffle_batch_responses=True,
        quotas=Quotas(app_writes=500),  # the client believes 3,000 per window: heavy 429s
    )  # fmt: skip
    export = write_export(work / "users.jsonl", USERS, prefix=f"H{seed}")
    state = work / "state"
    # No inline wait for Retry-After: every throttled create becomes a continuation, the path that lost
    # hashes on d4a119f (40 users misclassified, 25 JIT users without a hash at seed 1 there).
    settings = settings_for(emulator, state, MAX_ATTEMPTS=20, INLINE_RETRY_BUDGET_S=0.0)

    run, report = await run_and_report(export.path, "jsonl", settings, show_progress=False)

    assert report is not None, f"run {run.run_id} did not finish"
    counts = report.counts
    assert counts.already_present == 0, f"{counts.already_present} users this run created reported already_present"
    assert counts.total == counts.created + counts.rejected + counts.failed
    with (state / "runs" / run.run_id / "id-map.csv").open(newline="") as fh:
        created = {row["objectId"]: row["legacyId"] for row in csv.DictReader(fh)}
    flagged = flagged_users(emulator.base_url)
    assert set(flagged) <= set(created), f"{len(set(flagged) - set(created))} flagged users not recorded as created"
    vault = open_local_vault(str(state))
    try:
        missing = [oid for oid, legacy_id in flagged.items() if (c := await vault.load(oid)) is None
                   or c.legacy_id != legacy_id]  # fmt: skip
    finally:
        vault.close()
    print(f"seed {seed}: created {counts.created}, already_present {counts.already_present}, failed {counts.failed},"
          f" flagged {len(flagged)}, flagged without a vaulted hash {len(missing)}")  # fmt: skip
    assert not missing, f"{len(missing)} JIT users flagged toBeMigrated have no hash in the vault"
    assert set(flagged.values()) == export.jit & set(created.values())


async def test_every_jit_user_created_under_faults_has_a_vaulted_hash(start_emulator, tmp_path):
    await import_under_heavy_faults(start_emulator, tmp_path, seed=1)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [2, 3, 4, 5, 6])
async def test_every_jit_user_created_under_faults_has_a_vaulted_hash_5x(start_emulator, tmp_path, seed):
    await import_under_heavy_faults(start_emulator, tmp_path, seed=seed)
