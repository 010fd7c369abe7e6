"""`ciam-migrate waves plan` and `waves list`: split an export's users into waves, stored in the ledger.

`waves plan` reads the export once (no tenant call), prints each wave's user count and stores the rule
(not a member list) in the state's ledger — or the Azure Table ledger with `--azure` — so `run --wave N`
applies the same rule when it plans the export. Planning again replaces the plan. Exit codes: 0 stored,
2 bad rule, unreadable export or unusable state (one line on stderr, nothing stored).
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cli.runs import run_word
from cli.settings_from_options import build_settings
from shared.adapters.local.db import StateUnavailable
from shared.config import Settings
from shared.outcomes import RunState
from shared.planning.waves import plan_waves
from shared.ports import Ledger
from shared.profiles import ProfileError, load_profile
from shared.sniff import check_export
from shared.sources import READERS, UnknownSource, UnreadableExport
from shared.waves import WavePlan, WaveRuleError

EXIT_USAGE = 2
console = Console(highlight=False)
waves_app = typer.Typer(no_args_is_help=True, help="Split the users into waves that move (and cut over) together.")


class LedgerChoiceError(ValueError):
    """--azure without the Table ledger's settings; str() names the settings to set."""


def _with_ledger(
    settings: Settings, azure: bool, plan: WavePlan | None, *, replace: bool = False
) -> tuple[WavePlan | None, list[RunState]]:
    """Store `plan` (when given); return the stored plan and the runs, from the local state or the Table ledger."""
    if azure:
        return asyncio.run(_in_table(settings, plan, replace))
    from shared.adapters.local.ledger import SqliteLedger

    state = Path(settings.STATE_DIR)
    if plan is None and not (state / "migration.db").exists():
        return None, []
    state.mkdir(parents=True, exist_ok=True)
    local = SqliteLedger(state / "migration.db", read_only=plan is None)
    try:
        return asyncio.run(_store_and_read(local, plan, replace))
    finally:
        local.close()


async def _store_and_read(
    ledger: Ledger, plan: WavePlan | None, replace: bool
) -> tuple[WavePlan | None, list[RunState]]:
    runs = await ledger.list_runs()
    if plan is not None:
        ran = sorted({r.wave for r in runs if r.wave is not None and r.rolled_back_at is None})
        if ran and not replace:
            raise WaveRuleError(
                f"waves {', '.join(map(str, ran))} already ran under the stored plan; a new plan may move users "
                "between waves (a moved user counts as already present in its new wave): pass --replace to store it"
            )
        await ledger.save_wave_plan(plan)
    return await ledger.get_wave_plan(), runs


async def _in_table(settings: Settings, plan: WavePlan | None, replace: bool) -> tuple[WavePlan | None, list[RunState]]:
    from shared.bootstrap import table_ledger

    table = table_ledger(settings)
    if table is None:
        raise LedgerChoiceError("--azure: set STORAGE_CONNECTION_STRING or TABLES_ACCOUNT_URL (and LEDGER_TABLE)")
    try:
        await table.ensure_table()
        return await _store_and_read(table, plan, replace)
    finally:
        await table.close()


_RULE_WORDS = {"field": "by {field}", "percent": "by a stable hash of the legacy id", "apps": "by app ({field})"}


def wave_problem(state: str, wave: int) -> str | None:
    """Why `run --wave N` cannot start (no plan in the state, no such wave), or None."""
    try:
        stored, _ = _with_ledger(build_settings(state=state), False, None)
    except StateUnavailable as exc:
        return str(exc)
    if stored is None:
        return f"--wave {wave}: no wave plan in {state}: run `ciam-migrate waves plan --state {state} …` first"
    try:
        stored.wave(wave)
    except WaveRuleError as exc:
        return str(exc)
    return None


def print_plan(plan: WavePlan, runs: list[RunState]) -> None:
    rule = _RULE_WORDS[plan.kind].format(field=plan.field)
    table = Table("wave", "users", "holds", "apps cutting over", "runs", title=f"Waves {rule}", title_justify="left")
    for wave in plan.waves:
        count = "-" if wave.planned_count is None else f"{wave.planned_count:,}"
        ran = [f"{r.run_id} ({run_word(r)})" for r in runs if r.wave == wave.number]
        table.add_row(str(wave.number), count, wave.label, ", ".join(wave.apps) or "-", "\n".join(ran) or "not run")
    console.print(table)
    if plan.export_ref:
        console.print(f"Counted in {plan.export_ref} ({plan.source}); {plan.unassigned:,} users in no wave.")


def _split(text: str | None) -> list[str] | None:
    return None if text is None else [part.strip() for part in text.split(",") if part.strip()]


def _cutover(items: list[str]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for item in items:
        number, sep, apps = item.partition("=")
        if not sep or not number.strip().isdigit() or not apps.strip():
            raise WaveRuleError(f"--cutover {item}: write WAVE=APP[,APP], e.g. --cutover 2=shop,blog")
        out.setdefault(int(number), []).extend(_split(apps) or [])
    return out


def _percentages(text: str) -> list[int]:
    try:
        return [int(p) for p in _split(text) or []]
    except ValueError:
        raise WaveRuleError(f"--percent {text}: whole cumulative percentages, e.g. 5,25,100") from None


@waves_app.command("plan")
def plan(
    export: Annotated[Path, typer.Option("--export", help="The export whose users are split (and counted).")],
    source: Annotated[str, typer.Option("--source", "-s", help=f"Export format: {', '.join(sorted(READERS))}.")],
    state: Annotated[str, typer.Option(help="State directory: the ledger keeps the plan.")] = "./migration",
    by: Annotated[
        str | None, typer.Option("--by", help="One wave per value of this field, e.g. attributes.region.")
    ] = None,
    values: Annotated[
        str | None, typer.Option("--values", help="With --by: these values only, in this order (eu,us,apac).")
    ] = None,
    percent: Annotated[
        str | None, typer.Option("--percent", help="Cumulative percentages of a stable hash, e.g. 5,25,100.")
    ] = None,
    apps: Annotated[str | None, typer.Option("--apps", help="One wave per app's users, e.g. shop,blog.")] = None,
    app_field: Annotated[
        str, typer.Option("--app-field", help="With --apps: the field naming a user's apps.")
    ] = "attributes.apps",
    cutover: Annotated[
        list[str] | None, typer.Option("--cutover", help="WAVE=APP[,APP]: apps that cut over with that wave.")
    ] = None,
    mapping: Annotated[Path | None, typer.Option("--mapping", "-m", help="Mapping profile (TOML).")] = None,
    azure: Annotated[bool, typer.Option("--azure", help="Store in the Azure Table ledger (LEDGER_TABLE).")] = False,
    replace: Annotated[bool, typer.Option("--replace", help="Replace a plan some waves already ran under.")] = False,
) -> None:
    """Split an export's users into waves, print how many each holds, and store the plan for `run --wave N`."""
    try:
        profile = load_profile(source, mapping)
        check_export(export, source, profile, mapping)
        with Console(stderr=True).status("reading the export…"):
            wave_plan = plan_waves(
                export.resolve(), profile, now=datetime.now(UTC), by=by, values=_split(values),
                percent=_percentages(percent) if percent is not None else None, apps=_split(apps),
                app_field=app_field, cutover=_cutover(cutover or []),
            )  # fmt: skip
        _, runs = _with_ledger(build_settings(state=state), azure, wave_plan, replace=replace)
    except (WaveRuleError, UnknownSource, ProfileError, UnreadableExport, StateUnavailable, LedgerChoiceError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    print_plan(wave_plan, runs)
    where = "the Azure Table ledger" if azure else state
    console.print(f"Stored in {where}. Next: ciam-migrate run {export} --source {source} --state {state} --wave 1")


@waves_app.command("list")
def list_waves(
    state: Annotated[str, typer.Option(help="State directory.")] = "./migration",
    azure: Annotated[bool, typer.Option("--azure", help="Read the Azure Table ledger (LEDGER_TABLE).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
) -> None:
    """Show the stored wave plan: each wave's rule, planned count and apps. Exit 2 when there is none."""
    try:
        stored, runs = _with_ledger(build_settings(state=state), azure, None)
    except (StateUnavailable, LedgerChoiceError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    if stored is None:
        typer.echo(f"error: no wave plan in {state}: run `ciam-migrate waves plan` first", err=True)
        raise typer.Exit(EXIT_USAGE)
    if as_json:
        doc = stored.model_dump(mode="json") | {
            "runs": [{"run_id": r.run_id, "wave": r.wave, "state": run_word(r)} for r in runs if r.wave is not None]
        }
        typer.echo(json.dumps(doc, indent=2))
        return
    print_plan(stored, runs)


def register(app: typer.Typer) -> None:
    app.add_typer(waves_app, name="waves")
