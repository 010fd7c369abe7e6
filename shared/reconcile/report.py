"""Reconcile reports: a self-contained HTML page (counts, inline SVG charts, the first N differences) and JSON.

The JSON holds the summary and every difference, streamed from the work store (bounded memory);
`save_last` keeps the summary in the state directory (<state>/reconcile/last.json) for `decommission`.
No secret is ever compared, so none can appear: values are profile fields and extension attributes.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from shared.reconcile.model import Difference, DifferenceKind, ReconcileResult
from shared.reconcile.spill import ReconcileWork

LAST = Path("reconcile") / "last.json"
_COLOURS = ["#c0392b", "#8e44ad", "#d35400", "#2980b9", "#16a085", "#7f8c8d"]


def summary_json(result: ReconcileResult) -> dict[str, Any]:
    return result.model_dump(mode="json", by_alias=True, exclude={"first"})


def write_json(path: Path, result: ReconcileResult, work: ReconcileWork) -> None:
    """{..summary.., "differences": [every difference]} written as it is read from the work store."""
    head = json.dumps(summary_json(result), indent=2)[:-2]  # reopen the object to append the list
    with path.open("w", encoding="utf-8") as out:
        out.write(head + ',\n  "differenceList": [')
        for index, difference in enumerate(work.differences()):
            out.write(("," if index else "") + "\n    " + difference.model_dump_json(by_alias=True))
        out.write("\n  ]\n}\n")


def write_reports(state: Path, result: ReconcileResult, work: ReconcileWork, out: Path, json_out: Path | None) -> None:
    """The HTML page, the JSON (when asked) and the state's last.json naming both."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(result), encoding="utf-8")
    reports = {"html": str(out.resolve())}
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        write_json(json_out, result, work)
        reports["json"] = str(json_out.resolve())
    save_last(state, result, reports)


def save_last(state: Path, result: ReconcileResult, reports: dict[str, str]) -> Path:
    path = state / LAST
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary_json(result) | {"reports": reports}, indent=2), encoding="utf-8")
    return path


def load_last(state: Path) -> dict[str, Any] | None:
    path = state / LAST
    try:
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return loaded


def _bars(title: str, counts: dict[str, int]) -> str:
    """A horizontal bar chart as inline SVG (no script, no CDN)."""
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    if not items:
        return f"<figure><figcaption>{html.escape(title)}</figcaption><p>none</p></figure>"
    top = max(v for _, v in items) or 1
    row, width, label = 26, 360, 220
    bars = []
    for i, (name, value) in enumerate(items):
        y = i * row
        length = max(2, round(width * value / top))
        colour = _COLOURS[i % len(_COLOURS)]
        bars.append(
            f'<text x="0" y="{y + 17}" font-size="13">{html.escape(name)}</text>'
            f'<rect x="{label}" y="{y + 4}" width="{length}" height="18" fill="{colour}"><title>{value}</title></rect>'
            f'<text x="{label + length + 6}" y="{y + 17}" font-size="13">{value}</text>'
        )
    height = row * len(items)
    return (f'<figure><figcaption>{html.escape(title)}</figcaption><svg role="img" xmlns="http://www.w3.org/2000/svg" '
            f'width="{label + width + 80}" height="{height}" aria-label="{html.escape(title)}">{"".join(bars)}</svg>'
            "</figure>")  # fmt: skip


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value)
    return html.escape(text)


def _rows(differences: Iterable[Difference]) -> str:
    return "".join(
        f"<tr><td>{d.kind.value}</td><td>{_cell(d.legacy_id)}</td><td>{_cell(d.object_id)}</td>"
        f"<td>{_cell(d.field)}</td><td>{_cell(d.expected)}</td><td>{_cell(d.actual)}</td>"
        f"<td>{_cell(d.line)}</td><td>{_cell(d.detail)}</td></tr>"
        for d in differences
    )


def render_html(result: ReconcileResult) -> str:
    verdict = ("No differences: the tenant matches the export." if result.differences == 0
               else f"{result.differences} differences in {result.users_with_differences} users.")  # fmt: skip
    kinds = {k.value: result.by_kind.get(k.value, 0) for k in DifferenceKind}
    counts = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in kinds.items())
    facts = {
        "legacy users compared": result.legacy_users, "legacy records the import rejects (not compared)":
        result.legacy_rejected, "tenant users listed": result.tenant_users, "matched users": result.matched_users,
    }  # fmt: skip
    fact_rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{v}</td></tr>" for k, v in facts.items())
    shown = len(result.first)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Reconcile — {html.escape(result.source)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse;margin:1em 0}}
th,td{{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:13px}}th{{background:#f4f4f4}}
figure{{display:inline-block;margin:0 2em 1em 0}}figcaption{{font-weight:600;margin-bottom:4px}}</style></head>
<body><h1>Reconcile: {html.escape(result.export)} ({html.escape(result.source)}) against the tenant</h1>
<p id="verdict"><strong>{html.escape(verdict)}</strong> Started {result.started_at.isoformat()}, finished
{result.finished_at.isoformat()}.</p>
<table id="facts">{fact_rows}</table>
<table id="counts"><tr><th>difference</th><th>count</th></tr>{counts}</table>
{_bars("Differences by kind", {k: v for k, v in kinds.items() if v})}
{_bars("Field mismatches by field", result.by_field)}
{_bars("Migration flag states", result.flag_states)}
<h2>First {shown} of {result.differences} differences</h2>
<table id="differences"><tr><th>kind</th><th>legacyId</th><th>objectId</th><th>field</th>
<th>expected (legacy, mapped)</th><th>actual (tenant)</th><th>line</th><th>detail</th></tr>{_rows(result.first)}</table>
</body></html>
"""
