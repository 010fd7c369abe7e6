"""`ciam-migrate demo`: an offline rehearsal of a whole migration on the bundled sample, against the emulator.

Starts the tenant emulator on loopback (with its quotas time-scaled and a little fault injection, so
the rehearsal shows throttling and retries), plans the sample export, imports it, and imports it
again to show that a second run creates nobody twice. Nothing leaves this machine.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from cli.plan_cmd import print_summary
from cli.run_cmd import run_and_report, summarise
from cli.settings_from_options import build_settings
from emulator import DEFAULT_EXTENSIONS_APP_ID, EmulatorConfig, run_in_thread
from shared.planning import plan_document, plan_export, write_plan
from shared.profiles import load_profile

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "users.jsonl"
DEMO_FAULTS = "503=0.02,504-after-commit=0.02,lag=0.05"


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        state: Annotated[Path, typer.Option(help="Where the rehearsal keeps its state (emptied first).")] = Path(
            "./demo-state"
        ),
        export: Annotated[Path, typer.Option(help="The export to rehearse (jsonl).")] = SAMPLE,
        time_scale: Annotated[float, typer.Option(help="How many times faster the emulator's quota windows run.")] = 20,
    ) -> None:
        """Rehearse a migration offline: plan, import, import again — against the tenant emulator."""
        out = Console()
        if state.exists():
            shutil.rmtree(state)
        emulator = run_in_thread(EmulatorConfig(port=0, time_scale=time_scale, faults=DEMO_FAULTS, seed=1))
        try:
            out.rule("1. Plan: inventory and preflight, nothing written")
            profile = load_profile("jsonl", None)
            doc = plan_document(plan_export(export, profile, tenant="contoso.onmicrosoft.com", apps=1))
            json_path, html_path = write_plan(doc, state / "plan")
            print_summary(out, doc)
            out.print(f"Plan: {json_path} · {html_path}")

            settings = build_settings(
                state=str(state), graph_url=emulator.base_url, extensions_app_id=DEFAULT_EXTENSIONS_APP_ID,
                time_scale=time_scale,
            )  # fmt: skip
            out.rule(f"2. Import into the emulated tenant at {emulator.base_url} (faults: {DEMO_FAULTS})")
            code = summarise(*asyncio.run(run_and_report(export.resolve(), "jsonl", settings)), settings)
            out.rule("3. Import the same export again: everyone is already present, nothing is created twice")
            summarise(*asyncio.run(run_and_report(export.resolve(), "jsonl", settings)), settings)
            out.rule("Done")
            out.print(f"Inspect: ciam-migrate status --state {state}")
        finally:
            emulator.stop()
        raise typer.Exit(code)
