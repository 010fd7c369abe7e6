"""Peak memory of a run's planning stage (plan export handler) for two export sizes.

Each size runs in a fresh subprocess that generates nothing itself: the export is written first,
then the child plans it into sealed chunks (local ports, the emulator for extension properties) and
reports its peak RSS (ru_maxrss). Bounded memory means the two peaks differ only by the duplicate
guards (~16–70 bytes per user), not by the file's size.

    .venv/bin/python -m bench.plan_stage_memory [--sizes 200000,1000000]
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
from pathlib import Path

from bench.common import ROOT, emulator_process, write_users


async def plan_in_child(export: Path, state: Path, graph_url: str) -> dict[str, float]:
    from emulator import DEFAULT_EXTENSIONS_APP_ID
    from shared.bootstrap import local_parts
    from shared.config import Settings
    from shared.handlers.plan_export import plan_export
    from shared.handlers.workflow import Workflow
    from shared.messages import PlanExport

    settings = Settings(STATE_DIR=str(state), GRAPH_URL=graph_url, EXTENSIONS_APP_ID=DEFAULT_EXTENSIONS_APP_ID)
    parts = local_parts(settings)
    started = time.perf_counter()
    follow = await plan_export(
        PlanExport(run_id="mem", source="jsonl", export_ref=str(export), chunk_size=500),
        parts.ports,
        Workflow.from_settings(settings, apps=1),
    )
    seconds = time.perf_counter() - started
    await parts.close()
    largest = max(len(e.model_dump_json()) for e in follow)
    return {"seconds": seconds, "messages": len(follow), "largest_message_bytes": largest,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}  # fmt: skip


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        export, state, url = sys.argv[2:5]
        print(json.dumps(asyncio.run(plan_in_child(Path(export), Path(state), url))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200000,1000000")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ciam-mem-") as tmp, emulator_process() as url:
        for size in (int(s) for s in args.sizes.split(",")):
            export = Path(tmp) / f"users-{size}.jsonl"
            write_users(export, size, "m")
            out = subprocess.run(
                [sys.executable, "-m", "bench.plan_stage_memory", "--child", str(export), str(Path(tmp) / f"s{size}"),
                 url], cwd=ROOT, capture_output=True, text=True, check=True, timeout=1800,
            )  # fmt: skip
            r = json.loads(out.stdout.strip().splitlines()[-1])
            mb = export.stat().st_size / 1e6
            print(f"{size:>9,} users ({mb:,.0f} MB): planned in {r['seconds']:.1f}s = {size / r['seconds']:,.0f} "
                  f"records/s; peak RSS {r['peak_rss_mb']:.0f} MB; {r['messages']} messages, largest "
                  f"{r['largest_message_bytes']} bytes")  # fmt: skip
            export.unlink()


if __name__ == "__main__":
    main()
