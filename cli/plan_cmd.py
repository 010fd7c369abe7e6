"""`ciam-migrate plan EXPORT --source S`: inventory and preflight of an export, without any write.

Writes DIR/plan.json and DIR/plan.html and prints a short summary. An unreadable export or profile
stops with one line on stderr (file, line, cause) and exit code 2, never a traceback. A blocking
Entra constraint (object quota, custom attributes) is written into the plan and stops with exit 3
naming it, unless `--accept-constraint NAME`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from shared.entra_limits import OBJECT_QUOTA
from shared.planning import plan_document, plan_export, plan_metadata, write_plan
from shared.planning.constraints import (
    BLOCKING_NAMES,
    EXIT_CONSTRAINT,
    blocker_line,
    unaccepted_blockers,
    unknown_acceptances,
)
from shared.profiles import ProfileError, load_profile
from shared.sniff import check_export
from shared.sources import READERS, UnknownSource, UnreadableExport

EXIT_UNREADABLE = 2
DEFAULT_TENANT = "contoso.onmicrosoft.com"
EXIT_CODES_HELP = (
    "Exit codes: 0 done; 1 finished with failed users (run only); 2 usage error or unreadable export or"
    " profile, nothing written; 3 a blocking Entra constraint (object-quota, custom-attributes), see"
    " --accept-constraint."
)
ACCEPT_HELP = (
    f"Go on despite this blocking constraint ({', '.join(BLOCKING_NAMES)}), e.g. once the tenant's quota"
    " was raised. Repeatable."
)
QUOTA_HELP = f"The tenant's object quota (users + apps): {OBJECT_QUOTA:,} by default, 10,000 in a trial tenant."


def register(app: typer.Typer) -> None:
    app.command("plan")(plan)


def plan(
    export: Annotated[
        Path, typer.Argument(help="The export file (gzip accepted), or folder for keycloak users-N files.")
    ],
    source: Annotated[str, typer.Option("--source", "-s", help=f"Export format: {', '.join(sorted(READERS))}.")],
    mapping: Annotated[
        Path | None, typer.Option("--mapping", "-m", help="Mapping profile (TOML) overriding the source's default.")
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for plan.json and plan.html.")] = Path("plan"),
    apps: Annotated[int, typer.Option("--apps", min=1, help="App registrations the import will write through.")] = 1,
    tenant: Annotated[
        str, typer.Option("--tenant", help="The External ID tenant's domain (issuer of local identities).")
    ] = DEFAULT_TENANT,
    accept: Annotated[list[str] | None, typer.Option("--accept-constraint", help=ACCEPT_HELP)] = None,
    object_quota: Annotated[int, typer.Option("--object-quota", min=1, help=QUOTA_HELP)] = OBJECT_QUOTA,
) -> None:
    """Count, map and preflight every user of an export against Entra External ID; write nothing to the tenant."""
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if unknown := unknown_acceptances(accept or []):
        print(f"error: --accept-constraint {unknown[0]}: not a blocking constraint; one of "
              f"{', '.join(BLOCKING_NAMES)}", file=sys.stderr)  # fmt: skip
        raise typer.Exit(EXIT_UNREADABLE)
    try:
        profile = load_profile(source, mapping)
        check_export(export, source, profile, mapping)  # wrong --source / mapping typo: exit 2, nothing written
        with err.status("reading the export…") as status:

            def progress(seen: int) -> None:
                status.update(f"reading the export… {seen:,} records")

            result = plan_export(export, profile, tenant=tenant, apps=apps, progress=progress)
    except (UnreadableExport, ProfileError, UnknownSource) as exc:
        # One line, no traceback: the message already names file, line and cause.
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(EXIT_UNREADABLE) from None
    doc = plan_document(result, object_quota=object_quota) | {"meta": plan_metadata(result)}
    json_path, html_path = write_plan(doc, out)
    print_summary(Console(highlight=False), doc)
    Console(highlight=False).print(f"\nFull plan: {json_path}  ·  {html_path}")
    if blockers := unaccepted_blockers(doc["constraints"], accept or []):
        for blocker in blockers:
            print(blocker_line(blocker), file=sys.stderr)
        raise typer.Exit(EXIT_CONSTRAINT)


plan.__doc__ = f"{plan.__doc__}\n\n{EXIT_CODES_HELP}"


def print_summary(console: Console, doc: dict[str, Any]) -> None:
    for warning in doc["warnings"]:
        console.print(f"[bold yellow]warning:[/] {warning}")
    totals = Table(title=f"Plan for {doc['source']} export", show_header=False, title_justify="left")
    totals.add_row("users in the export", f"{doc['total']:,}")
    totals.add_row("ready to import", f"[green]{doc['valid']:,}[/]")
    totals.add_row("rejected", f"[red]{doc['rejected']:,}[/]" if doc["rejected"] else "0")
    paths = doc["passwords"]["paths"]
    totals.add_row("password paths", ", ".join(f"{k} {v:,}" for k, v in paths.items()) or "-")
    fallbacks = doc["passwords"]["reset_fallbacks"]
    if fallbacks:
        why = ", ".join(f"{k} {v:,}" for k, v in fallbacks.items())
        totals.add_row("reset instead of rejected", f"[yellow]{sum(fallbacks.values()):,}[/] ({why})")
    kinds = doc["identities"]["kinds"]
    totals.add_row("identities", ", ".join(f"{k} {v:,}" for k, v in kinds.items()) or "-")
    social, refused = paths.get("federated", 0), doc["by_reason"].get("federated_identity_not_enabled", 0)
    if social:
        totals.add_row("social-only users", f"{social:,} created with their federated identity (no password)")
    if refused:
        fix = "set \\[identities] federated = true to create them"  # \\[: a literal bracket, not rich markup
        totals.add_row("social-only users", f"[red]{refused:,} rejected[/]: {fix}")
    if doc["mfa"]["methods"]:
        mfa = doc["mfa"]
        importable = ", ".join(f"{k} {v:,}" for k, v in mfa["importable"].items()) or "none"
        not_importable = ", ".join(f"{k} {v:,}" for k, v in mfa["not_importable"].items())
        totals.add_row("MFA", ", ".join(f"{k} {v:,}" for k, v in mfa["methods"].items()))
        skipped = f" (not importable: {not_importable})" if not_importable else ""
        totals.add_row("MFA methods imported", importable + skipped)
    if doc["phones"]["verified"] or doc["phones"]["unverified"]:
        totals.add_row("phones", f"verified {doc['phones']['verified']:,}, unverified {doc['phones']['unverified']:,}")
    custom = doc["custom_attributes"]
    totals.add_row(
        "custom attributes",
        f"{custom['properties']} extension properties (most on one user: {custom['most_on_one_user']})",
    )
    groups = doc["groups"]
    if groups.get("mapping"):
        unmapped = sum(groups["unmapped"].values())
        totals.add_row(
            "groups",
            f"{groups['memberships']:,} memberships, {groups['app_roles']:,} app roles; "
            f"{len(groups['unmapped'])} legacy groups unmapped ({unmapped:,} memberships)",
        )
    estimate = doc["estimate"]
    totals.add_row(
        "estimated import",
        f"{estimate['human']} at {estimate['writes_per_second']} writes/s ({estimate['apps']} app(s))",
    )
    console.print(totals)
    if doc["by_reason"]:
        reasons = Table("reason", "users", title="Rejected, by reason", title_justify="left")
        for code, count in doc["by_reason"].items():
            reasons.add_row(code, f"{count:,}")
        console.print(reasons)
    if doc["does_not_map"]:
        unmapped = Table("feature", "users", title="Does not map", title_justify="left")
        for row in doc["does_not_map"][:10]:
            unmapped.add_row(row["feature"], f"{row['users']:,}")
        console.print(unmapped)
