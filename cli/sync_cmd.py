"""`ciam-migrate sync`: coexistence — legacy changes flow into Entra while both directories are live.

ciam-migrate sync --source jsonl --feed changes.jsonl --state ./migration [--every 60] [--once]
ciam-migrate sync --source cognito --snapshot nightly.json --state ./migration --once
ciam-migrate sync status --state ./migration       # per source: cursor, lag, last poll, retention, conflicts
ciam-migrate sync conflicts --state ./migration    # both sides' values, for a human to decide
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from cli.doctor_cmd import APPS_FILE_HELP
from cli.run_cmd import EXIT_FAILURES, EXIT_OK, EXIT_USAGE, _default_extensions_app_id
from cli.settings_from_options import build_settings
from shared.config import Settings
from shared.handlers.poll_changes import PollResult, health
from shared.profiles import ProfileError
from shared.sources import READERS, UnknownSource, UnreadableExport
from shared.sync.feed import ChangeFeed, LegacyState
from shared.sync.local import open_local_sync
from shared.sync.presence import holding_presence
from shared.sync.registry import FeedContext, UnknownFeed, feed_spec
from shared.sync.sqlite_store import SYNC_DB, SqliteSyncStore

console = Console()


async def execute_sync(
    source: str, settings: Settings, *, feed: str | None, snapshot: Path | None, every: float | None, once: bool,
    mapping: Path | None = None, show_progress: bool = True, stop: asyncio.Event | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Poll and apply in local mode; returns the summary `sync` prints."""
    async with open_local_sync(settings, source, mapping_ref=str(mapping) if mapping else None) as local:
        side = local.side
        diff = local.snapshot_diff(snapshot) if snapshot is not None else None
        change_feed: ChangeFeed
        state: LegacyState
        if feed is not None:
            spec = feed_spec(FeedContext(source=source, feed=feed, store=side.store, sealer=side.sealer,
                                         settings=settings))  # fmt: skip
            change_feed, state = spec.feed, spec.state
        elif diff is not None:
            change_feed, state, diff = diff, diff, None
        else:
            raise UnknownFeed("give --feed (a change feed) or --snapshot (a fresh export to diff), or both")
        host = local.host(change_feed, state, snapshot=diff)
        emitted = 0

        def tick(result: PollResult | None) -> None:
            nonlocal emitted
            if result is None:
                return
            emitted += result.emitted
            for warning in result.warnings:
                console.print(f"[yellow]warning[/]: {warning}")
            if result.blocked:
                console.print(f"[red]blocked[/]: {result.blocked}")
            if show_progress:
                stamp = datetime.now(UTC).strftime("%H:%M:%S")
                console.print(f"{stamp} polled {source}: {result.emitted} change(s) queued, {result.rejected} bad"
                              f"{'' if result.ran else ' (skipped: a poll is still running)'}")  # fmt: skip

        # An import started on this state directory now leaves the sync SYNC_WRITE_SHARE of the quota.
        with holding_presence(Path(settings.STATE_DIR)):
            results = await host.run(every=every if not once else None, once=once, on_tick=tick, stop=stop)
        counters = await side.store.counters(source)
        conflicts = len(await side.store.conflicts(source))
        blocked = next((r.blocked for r in reversed(results) if r.blocked), None)
        return {"source": source, "queued": emitted, "applied": host.applied, "counters": counters,
                "conflicts": conflicts, "blocked": blocked, "queue": local.parts.queue.counts()}  # fmt: skip


def summarise(summary: dict[str, Any], state: str) -> int:
    counters = summary["counters"]
    shown = ", ".join(f"{k} {v}" for k, v in sorted(counters.items())) or "nothing applied yet"
    console.print(f"[bold]sync {summary['source']}[/]: {summary['queued']} change(s) queued, "
                  f"{summary['applied']} applied this session — {shown}.")  # fmt: skip
    console.print(f"Conflicts recorded: {summary['conflicts']} (ciam-migrate sync conflicts --state {state}); "
                  f"rejected feed lines: {state}/runs/sync-{summary['source']}/rejects.jsonl")  # fmt: skip
    if summary["blocked"]:
        console.print(f"[red]Blocked[/]: {summary['blocked']}")
        return EXIT_FAILURES
    return EXIT_FAILURES if counters.get("failed") else EXIT_OK


async def _status(state_dir: Path) -> list[dict[str, Any]]:
    store = SqliteSyncStore(state_dir / SYNC_DB)
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    try:
        for source in await store.sources():
            cursor = await store.get_cursor(source)
            if cursor is None:
                continue
            verdict, left = health(cursor, now)
            lag = (now - cursor.last_success_at).total_seconds() if cursor.last_success_at else None
            rows.append({
                "source": source, "cursor": cursor.cursor, "lagSeconds": lag,
                "lastPoll": cursor.last_poll_at.isoformat() if cursor.last_poll_at else None,
                "retentionSeconds": cursor.retention_s, "retentionHeadroomSeconds": left, "health": verdict,
                "needsSnapshot": cursor.needs_snapshot, "conflicts": len(await store.conflicts(source)),
                "counters": await store.counters(source), "lastError": cursor.last_error,
            })  # fmt: skip
    finally:
        store.close()
    return rows


def register(app: typer.Typer) -> None:
    sync_app = typer.Typer(help="Coexistence: apply legacy changes to Entra, in order, while both are live.")

    @sync_app.callback(invoke_without_command=True)
    def sync(
        ctx: typer.Context,
        source: Annotated[str | None, typer.Option(help=f"Legacy system: {', '.join(sorted(READERS))}.")] = None,
        feed: Annotated[
            str | None, typer.Option(help="Change feed: a changes.jsonl drop, or the source's URL.")
        ] = None,
        snapshot: Annotated[Path | None, typer.Option(help="A fresh export to diff against what was written.")] = None,
        state: Annotated[str, typer.Option(help="State directory (the import's).")] = "./migration",
        every: Annotated[float | None, typer.Option(help="Poll every N seconds until stopped (Ctrl-C).")] = None,
        once: Annotated[bool, typer.Option(help="Poll once, apply everything, stop.")] = False,
        mapping: Annotated[Path | None, typer.Option(help="Mapping profile (default: the import's).")] = None,
        graph_url: Annotated[str | None, typer.Option(help="Graph base URL; the emulator's for a rehearsal.")] = None,
        tenant: Annotated[str | None, typer.Option(help="Tenant domain, e.g. contoso.onmicrosoft.com.")] = None,
        app_id: Annotated[list[str] | None, typer.Option("--app", help="App registration client id (repeat).")] = None,
        apps_file: Annotated[Path | None, typer.Option("--apps-file", help=APPS_FILE_HELP)] = None,
        extensions_app_id: Annotated[str | None, typer.Option(help="The b2c-extensions-app's appId.")] = None,
        time_scale: Annotated[float | None, typer.Option(help="Emulator only: its --time-scale.")] = None,
    ) -> None:
        """Poll a legacy change feed and apply each change to Entra. Run it again to resume after a crash."""
        if ctx.invoked_subcommand is not None:
            return
        if source is None:
            typer.echo("error: --source is required (or use `sync status` / `sync conflicts`)", err=True)
            raise typer.Exit(EXIT_USAGE)
        if snapshot is not None and not snapshot.is_file():
            typer.echo(f"error: {snapshot}: no such file", err=True)
            raise typer.Exit(EXIT_USAGE)
        if feed is not None and source == "jsonl" and snapshot is not None:
            typer.echo("error: a changes.jsonl drop and a snapshot diff can't feed one source together", err=True)
            raise typer.Exit(EXIT_USAGE)
        try:
            settings = _default_extensions_app_id(
                build_settings(state=state, graph_url=graph_url, tenant=tenant, apps=app_id, apps_file=apps_file,
                               extensions_app_id=extensions_app_id, time_scale=time_scale)
            )  # fmt: skip
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_USAGE) from None
        interval = every if every is not None else (None if once else settings.SYNC_POLL_INTERVAL_S)
        try:
            summary = asyncio.run(
                execute_sync(source, settings, feed=feed, snapshot=snapshot.resolve() if snapshot else None,
                             every=interval, once=once or interval is None, mapping=mapping)
            )  # fmt: skip
        except (UnknownFeed, UnknownSource, ProfileError, UnreadableExport) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_USAGE) from None
        except KeyboardInterrupt:
            typer.echo("stopped; run the same command again to go on from the stored cursor", err=True)
            raise typer.Exit(EXIT_OK) from None
        raise typer.Exit(summarise(summary, state))

    @sync_app.command("status")
    def status(
        state: Annotated[str, typer.Option(help="State directory.")] = "./migration",
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Per source: cursor, lag, last poll, retention headroom, conflicts, what was applied."""
        if not (Path(state) / SYNC_DB).exists():
            typer.echo(f"error: {state}: no sync has run here", err=True)
            raise typer.Exit(EXIT_USAGE)
        rows = asyncio.run(_status(Path(state)))
        if as_json:
            typer.echo(json.dumps({"sources": rows}, indent=2))
            return
        for row in rows:
            lag = f"{row['lagSeconds']:.0f}s" if row["lagSeconds"] is not None else "never reached the head"
            headroom = row["retentionHeadroomSeconds"]
            retention = "unbounded" if headroom is None else f"{headroom / 3600:.1f}h of retention left"
            console.print(f"[bold]{row['source']}[/] {row['health']}: cursor {row['cursor']!r}, lag {lag}, last poll "
                          f"{row['lastPoll']}, {retention}, conflicts {row['conflicts']}")  # fmt: skip
            if row["counters"]:
                console.print("  " + ", ".join(f"{k} {v}" for k, v in sorted(row["counters"].items())))
            if row["lastError"]:
                console.print(f"  [red]{row['lastError']}[/]")

    @sync_app.command("conflicts")
    def conflicts(
        state: Annotated[str, typer.Option(help="State directory.")] = "./migration",
        source: Annotated[str | None, typer.Option(help="Only this source.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Fields both directories changed since our last write: both values and whose value the tenant holds."""
        if not (Path(state) / SYNC_DB).exists():
            typer.echo(f"error: {state}: no sync has run here", err=True)
            raise typer.Exit(EXIT_USAGE)
        store = SqliteSyncStore(Path(state) / SYNC_DB)
        try:
            found = asyncio.run(store.conflicts(source))
        finally:
            store.close()
        if as_json:
            typer.echo(json.dumps({"conflicts": [c.model_dump(mode="json") for c in found]}, indent=2))
            return
        if not found:
            console.print("No conflicts.")
        for c in found:
            console.print(f"{c.at:%Y-%m-%d %H:%M} {c.source}/{c.legacy_id} {c.field}: legacy {c.legacy_value!r} vs "
                          f"Entra {c.entra_value!r} → tenant holds {c.resolution}'s ({c.rule})")  # fmt: skip

    app.add_typer(sync_app, name="sync")
