"""Peak memory and speed of reconcile's comparison for two export sizes: memory must not grow with the export.

Each size runs in a fresh subprocess: a generated jsonl export, a SQLite ledger linking every user to an
object id, and a tenant of the same users served as Graph-shaped pages of 999 (generated from the export as
it is read, one page at a time, so the tenant side costs no memory of its own). Every 1,000th tenant user
has a changed displayName, so differences are found, spilled and streamed to the JSON report. The child
prints its peak RSS (ru_maxrss). No Graph calls: this measures reconcile itself, not the emulator.

    .venv/bin/python -m bench.reconcile_memory [--sizes 100000,500000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import ROOT, write_users

CHANGED_EVERY = 1000


async def reconcile_in_child(export: Path, state: Path) -> dict[str, float]:
    from emulator import DEFAULT_EXTENSIONS_APP_ID
    from shared.adapters.local.ledger import SqliteLedger
    from shared.mapping import MappingOptions
    from shared.outcomes import LedgerEntry, Outcome, RunState
    from shared.planning.admission import Admission
    from shared.reconcile import ReconcileInputs, reconcile_export
    from shared.reconcile.report import write_reports
    from shared.records import RejectedRecord, SourceRecord
    from shared.sources import SourceItem, SourceOptions, get_reader

    mapping = MappingOptions(tenant="contoso.onmicrosoft.com", extensions_app_id=DEFAULT_EXTENSIONS_APP_ID)
    reader = get_reader("jsonl")
    ledger = SqliteLedger(state / "migration.db")
    now = datetime.now(UTC)
    await ledger.save_run(RunState(run_id="bench", source="jsonl", export_ref=str(export), started_at=now,
                                   finished_at=now, mapping=mapping))  # fmt: skip
    batch: list[LedgerEntry] = []
    for item in reader(export, SourceOptions()):
        if isinstance(item, SourceRecord):
            batch.append(LedgerEntry(source="jsonl", legacy_id=item.user.legacy_id, run_id="bench",
                                     outcome=Outcome.CREATED, object_id=f"oid-{item.user.legacy_id}",
                                     line=item.line, updated_at=now))  # fmt: skip
        if len(batch) >= 5000:
            await ledger.record(batch)
            batch = []
    await ledger.record(batch)

    def records() -> Iterator[SourceItem]:
        return reader(export, SourceOptions())

    async def pages(_: list[str]) -> AsyncIterator[list[dict[str, Any]]]:
        admission = Admission(mapping, deterministic=True)
        page: list[dict[str, Any]] = []
        for n, item in enumerate(records()):
            if isinstance(item, RejectedRecord):
                continue
            target = admission.admit(item, random_password=lambda: "Bench-only-0")
            if isinstance(target, RejectedRecord):
                continue
            body = {k: v for k, v in target.graph_body().items() if k not in ("passwordProfile", "passwordPolicies")}
            body["id"] = f"oid-{target.legacy_id}"
            if n % CHANGED_EVERY == 0:
                body["displayName"] += " (changed)"
            page.append(body)
            if len(page) == 999:
                yield page
                page = []
        if page:
            yield page

    started = time.perf_counter()
    inputs = ReconcileInputs(source="jsonl", export=str(export), records=records, mapping=mapping, ledger=ledger,
                             tenant_pages=pages)  # fmt: skip
    result, work = await reconcile_export(inputs, state / "reconcile" / "work.db")
    write_reports(state, result, work, state / "r.html", state / "r.json")
    work.close()
    seconds = time.perf_counter() - started
    ledger.close()
    return {"seconds": seconds, "differences": result.differences, "matched": result.matched_users,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "json_mb": (state / "r.json").stat().st_size / 1e6}  # fmt: skip


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        export, state = sys.argv[2:4]
        print(json.dumps(asyncio.run(reconcile_in_child(Path(export), Path(state)))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,500000")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ciam-reconcile-") as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            export = Path(tmp) / f"users-{size}.jsonl"
            write_users(export, size, "r")
            state = Path(tmp) / f"s{size}"
            state.mkdir()
            out = subprocess.run([sys.executable, "-m", "bench.reconcile_memory", "--child", str(export), str(state)],
                                 cwd=ROOT, capture_output=True, text=True, check=True, timeout=3600)  # fmt: skip
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{size:>9,} users: reconciled in {r['seconds']:.1f}s = {size / r['seconds']:,.0f} users/s; "
                  f"{r['matched']:,.0f} matched, {r['differences']:,.0f} differences (JSON {r['json_mb']:.1f} MB); "
                  f"peak RSS {r['peak_rss_mb']:.0f} MB")  # fmt: skip
            export.unlink()


if __name__ == "__main__":
    main()
