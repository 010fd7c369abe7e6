"""`ciam-migrate demo`: an offline rehearsal of a whole migration on the bundled sample, against the emulator.

Starts the tenant emulator on loopback with its quotas time-scaled, a per-app write quota smaller than
the one the import budgets for (a tenant busier than planned, so Graph answers 429) and a little fault
injection; plans the sample export, imports it, says what the emulator did (its own stats) and how the
import resolved each kind of trouble, then imports again to show nobody is created twice. Nothing
leaves this machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sqlite3
import sys
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from cli.plan_cmd import print_summary
from cli.run_cmd import run_and_report, summarise
from cli.settings_from_options import build_settings
from emulator import DEFAULT_EXTENSIONS_APP_ID, EmulatorConfig, Quotas, run_in_thread
from shared.outcomes import RunState
from shared.planning import plan_document, plan_export, write_plan
from shared.profiles import load_profile

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "users.jsonl"
DEMO_FAULTS = "503=0.02,504-after-commit=0.02"
# Below the 3,000 / 150 s the import budgets for: the emulated tenant throttles, as a busy one would.
DEMO_APP_WRITES = 200


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
        config = EmulatorConfig(
            port=0, time_scale=time_scale, faults=DEMO_FAULTS, seed=1, quotas=Quotas(app_writes=DEMO_APP_WRITES)
        )
        emulator = run_in_thread(config)
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
            out.rule(
                f"2. Import into the emulated tenant at {emulator.base_url} "
                f"(faults {DEMO_FAULTS}; {DEMO_APP_WRITES} writes per app per window)"
            )
            first, first_report = asyncio.run(run_and_report(export.resolve(), "jsonl", settings))
            code = summarise(first, first_report, settings)
            print_resolutions(out, fetch_stats(emulator.base_url), continuations(state), first)
            out.rule("3. Import the same export again: everyone is already present, nothing is created twice")
            summarise(*asyncio.run(run_and_report(export.resolve(), "jsonl", settings)), settings)
            out.rule("Done")
            out.print(f"Inspect: {cli_hint()} status --state {state}")
        finally:
            emulator.stop()
        raise typer.Exit(code)


def fetch_stats(base_url: str) -> dict[str, Any]:
    """The emulator's own counters (GET /_emulator/stats): what it throttled and which faults it injected."""
    response = httpx.get(f"{base_url}/_emulator/stats", timeout=10)
    response.raise_for_status()
    stats: dict[str, Any] = response.json()
    return stats


def continuations(state: Path) -> int:
    """Import chunks re-scheduled after Retry-After (their message ids end in `:attempt-N`)."""
    with contextlib.closing(sqlite3.connect(f"file:{state / 'migration.db'}?mode=ro", uri=True)) as db:
        row = db.execute("SELECT COUNT(*) FROM messages WHERE id LIKE '%:import:%:attempt-%'").fetchone()
    return int(row[0])


def print_resolutions(out: Console, stats: dict[str, Any], continued: int, run: RunState) -> None:
    throttled = sum(app["throttled"] for app in stats["apps"].values())
    injected = stats["faults"]["injected"]
    table = Table(
        "what the emulated tenant did", "times", "how the import resolved it",
        title="Trouble on the way, counted by the emulator (GET /_emulator/stats)", title_justify="left",
    )  # fmt: skip
    table.add_row(
        "429 throttled (per-app write quota)", str(throttled),
        f"waited Retry-After, re-sent only the throttled items; {continued} chunk continuation(s)",
    )  # fmt: skip
    table.add_row("503 service unavailable (injected)", str(injected.get("503", 0)), "retried")
    table.add_row(
        "504 after the write committed (injected)", str(injected.get("504-after-commit", 0)),
        "the retry met ObjectConflict: found by identity lookup, counted created",
    )  # fmt: skip
    out.print(table)
    out.print(
        f"Users in the emulated tenant: {stats['users']}; this run created {run.created}, failed {run.failed}: "
        "nobody lost, nobody created twice."
    )


def cli_hint() -> str:
    """How to call the CLI from the user's shell: the script that is running, unless it is already on PATH."""
    running = Path(sys.argv[0]) if sys.argv and Path(sys.argv[0]).name == "ciam-migrate" else None
    if running is None:
        venv_script = Path(".venv") / "bin" / "ciam-migrate"
        running = venv_script if venv_script.exists() else None
    if running is None:
        return "ciam-migrate"
    on_path = shutil.which("ciam-migrate")
    if on_path and Path(on_path).resolve() == running.resolve():
        return "ciam-migrate"
    try:
        return str(running.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(running.resolve())
