"""plan.html: the plan as a self-contained page (inline CSS and SVG charts, no script, no network).

Input: the plan.json document. Every string from the export (attribute, group, provider names) is
HTML-escaped. Opens offline from a file:// URL.
"""

from __future__ import annotations

from html import escape
from typing import Any

from shared.entra_limits import MAX_EXTENSION_STRING

PALETTE = ["#2563eb", "#16a34a", "#d97706", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#475569"]

CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f5f7fb;color:#1f2937}
header{background:#0f2a4a;color:#fff;padding:24px 40px}
header h1{margin:0 0 4px;font-size:24px}
header p{margin:0;opacity:.8}
main{padding:24px 40px;display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:20px}
section{background:#fff;border-radius:10px;box-shadow:0 1px 3px rgba(0,0,0,.08);padding:18px 22px}
section.wide{grid-column:1/-1}
h2{font-size:17px;margin:0 0 12px;color:#0f2a4a}
.kpis{display:flex;gap:16px;flex-wrap:wrap}
.kpi{flex:1;min-width:140px;background:#f1f5f9;border-radius:8px;padding:12px 16px}
.kpi b{display:block;font-size:26px}
.kpi span{color:#64748b;font-size:13px}
.ok{color:#16a34a}
.bad{color:#dc2626}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e5e7eb}
th{color:#475569;font-weight:600}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.warn{background:#fef3c7;border-left:4px solid #d97706;padding:10px 14px;margin:0 0 8px;border-radius:4px}
.empty{color:#94a3b8;font-style:italic}
.blocking{background:#dc2626;color:#fff;padding:16px 40px;font-size:16px}
.blocking h2{color:#fff;margin:0 0 6px}
.blocking p{margin:4px 0}
.base{color:#64748b;font-size:13px;margin:0 0 8px}
.meta{font-size:13px;opacity:.85;margin-top:6px}
svg text{font:12px system-ui,sans-serif;fill:#334155}
"""


def render_plan_html(doc: dict[str, Any]) -> str:
    estimate = doc["estimate"]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        f"<title>Migration plan · {escape(doc['source'])}</title><style>{CSS}</style></head><body>",
        _blocking_banner(doc["constraints"]),
        "<header><h1>Migration plan</h1>",
        f"<p>{escape(doc['source'])} export <code>{escape(doc['export'])}</code> → Entra External ID "
        f"tenant <code>{escape(doc['tenant'])}</code></p>{_metadata(doc.get('meta'))}</header><main>",
    ]
    if doc["warnings"]:
        parts.append(
            _section("Warnings", "".join(f"<p class='warn'>{escape(w)}</p>" for w in doc["warnings"]), wide=True)
        )
    parts.append(
        _section(
            "Totals",
            f"<p class='base'>Every figure here is of the {doc['total']:,} records in the export: "
            f"{doc['valid']:,} ready to import + {doc['rejected']:,} rejected = {doc['total']:,}.</p>"
            + "<div class='kpis'>"
            + _kpi(doc["total"], "records in the export")
            + _kpi(doc["valid"], "ready to import", "ok")
            + _kpi(doc["rejected"], "rejected before any write", "bad" if doc["rejected"] else "ok")
            + _kpi(estimate["human"], f"estimated import ({estimate['apps']} app registration(s))")
            + "</div>"
            + _donut([("valid", doc["valid"]), ("rejected", doc["rejected"])], colors=["#16a34a", "#dc2626"]),
            wide=True,
        )
    )
    parts.append(_section("Rejections by reason", _base(doc["by_reason"], doc) + _bars(doc["by_reason"])))
    identities = doc["identities"]
    parts.append(
        _section(
            "Identity kinds",
            _base(identities["kinds"], doc)
            + _bars(identities["kinds"])
            + "<h2>Federated, by provider</h2>"
            + _bars(identities["federated_by_provider"]),
        )
    )
    passwords = doc["passwords"]
    parts.append(
        _section(
            "Passwords",
            _base(passwords["kinds"], doc)
            + _bars(passwords["kinds"])
            + "<h2>Hash algorithms</h2>"
            + _bars(passwords["hash_algorithms"])
            + f"<h2>Path per user (mode: {escape(passwords['mode'])})</h2>"
            + _base(passwords["paths"], doc)
            + _bars(passwords["paths"])
            + "<h2>Reset instead of rejected (hash not usable), by reason</h2>"
            + _bars(passwords.get("reset_fallbacks", {})),
        )
    )
    parts.append(
        _section("MFA methods", f"<p>{doc['mfa']['users']:,} users with MFA</p>" + _bars(doc["mfa"]["methods"]))
    )
    parts.append(_section("Custom attributes", _attributes(doc["attributes"], doc["custom_attributes"]), wide=True))
    parts.append(_section("Groups", _groups(doc["groups"]), wide=bool(doc["groups"].get("mapping"))))
    parts.append(
        _section(
            "Data quality",
            _table(["issue", "users"], list(doc["quality"].items()))
            + "<h2>Duplicates</h2>"
            + _table(["kind", "users"], list(doc["duplicates"].items())),
        )
    )
    parts.append(_section("Entra constraints", _constraints(doc["constraints"]), wide=True))
    parts.append(
        _section(
            "Does not map to External ID",
            _table(["feature", "users"], [(r["feature"], r["users"]) for r in doc["does_not_map"]]),
            wide=True,
        )
    )
    parts.append(_section("Import estimate", _estimate(estimate)))
    parts.append(
        _section(
            "First rejected records",
            _table(
                ["line", "legacy id", "reason", "why"],
                [(r["line"], r["legacyId"] or "", r["reason"], r["message"]) for r in doc["rejects"][:20]],
            ),
            wide=True,
        )
    )
    parts.append("</main></body></html>")
    return "".join(parts)


def _section(title: str, body: str, *, wide: bool = False) -> str:
    cls = " class='wide'" if wide else ""
    return f"<section{cls}><h2>{escape(title)}</h2>{body}</section>"


def _kpi(value: Any, label: str, cls: str = "") -> str:
    shown = f"{value:,}" if isinstance(value, int) else escape(str(value))
    return f"<div class='kpi'><b class='{cls}'>{shown}</b><span>{escape(label)}</span></div>"


def _bars(counts: dict[str, int]) -> str:
    """A horizontal bar chart in inline SVG, one bar per name (most first)."""
    items = [(str(k), int(v)) for k, v in counts.items() if v]
    if not items:
        return "<p class='empty'>none</p>"
    items = items[:15]
    top = max(v for _, v in items)
    row, label_w, bar_w = 24, 190, 230
    height = row * len(items) + 4
    out = [
        f"<svg role='img' width='100%' viewBox='0 0 {label_w + bar_w + 80} {height}' xmlns='http://www.w3.org/2000/svg'>"
    ]
    for i, (name, value) in enumerate(items):
        y = i * row + 2
        width = max(2.0, bar_w * value / top)
        label = name if len(name) <= 28 else name[:27] + "…"
        color = PALETTE[i % len(PALETTE)]
        out.append(
            f"<text x='{label_w - 6}' y='{y + 15}' text-anchor='end'>"
            f"<title>{escape(name)}</title>{escape(label)}</text>"
            f"<rect x='{label_w}' y='{y + 3}' width='{width:.1f}' height='16' rx='3' fill='{color}'/>"
            f"<text x='{label_w + width + 6:.1f}' y='{y + 15}'>{value:,}</text>"
        )
    out.append("</svg>")
    return "".join(out)


def _donut(parts: list[tuple[str, int]], colors: list[str]) -> str:
    total = sum(v for _, v in parts)
    if not total:
        return ""
    radius, circumference = 50, 2 * 3.14159265 * 50
    offset = 0.0
    arcs = []
    for (name, value), color in zip(parts, colors, strict=False):
        length = circumference * value / total
        arcs.append(
            f"<circle r='{radius}' cx='70' cy='70' fill='none' stroke='{color}' stroke-width='22' "
            f"stroke-dasharray='{length:.2f} {circumference - length:.2f}' stroke-dashoffset='{-offset:.2f}' "
            f"transform='rotate(-90 70 70)'><title>{escape(name)}: {value:,}</title></circle>"
        )
        offset += length
    legend = "".join(
        f"<rect x='160' y='{40 + i * 24}' width='14' height='14' fill='{c}'/>"
        f"<text x='180' y='{52 + i * 24}'>{escape(n)}: {v:,}</text>"
        for i, ((n, v), c) in enumerate(zip(parts, colors, strict=False))
    )
    share = 100 * parts[0][1] / total
    return (
        "<svg role='img' width='360' height='150' viewBox='0 0 360 150' xmlns='http://www.w3.org/2000/svg'>"
        + "".join(arcs)
        + f"<text x='70' y='75' text-anchor='middle' style='font-size:18px;font-weight:600'>{share:.0f}%</text>"
        + legend
        + "</svg>"
    )


def _table(headers: list[str], rows: list[tuple[Any, ...]]) -> str:
    if not rows:
        return "<p class='empty'>none</p>"
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(f"<td class='n'>{c:,}</td>" if isinstance(c, int) else f"<td>{escape(str(c))}</td>" for c in row)
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _attributes(attributes: dict[str, Any], custom: dict[str, int]) -> str:
    count = (
        f"<p class='custom-count'><b>{custom['properties']:,}</b> extension properties to create on the "
        f"b2c-extensions-app; the most on one user: {custom['most_on_one_user']:,}.</p>"
    )
    rows = [(name, a["maps_to"], a["type"], a["users"], a["too_long"]) for name, a in attributes.items()]
    return count + _table(["attribute", "maps to", "type", "users", f"over {MAX_EXTENSION_STRING} chars"], rows)


def _blocking_banner(constraints: list[dict[str, Any]]) -> str:
    """Blocking problems first, in red, above everything else: `plan` and `run` stop on them (exit 3)."""
    blockers = [c for c in constraints if c.get("blocking")]
    if not blockers:
        return ""
    items = "".join(
        f"<p><b>{escape(c['name'])}</b>: {escape(c['note'])} — `plan` and `run` stop (exit 3) until it is dealt "
        f"with or accepted with <code>--accept-constraint {escape(c['name'])}</code>.</p>"
        for c in blockers
    )
    return f"<div class='blocking' role='alert'><h2>Blocking: the import cannot go ahead as planned</h2>{items}</div>"


def _metadata(meta: dict[str, str] | None) -> str:
    if not meta:
        return ""
    return (
        f"<p class='meta'>Planned <time datetime='{escape(meta['generated_at'])}'>{escape(meta['generated_at'])}"
        f"</time> · ciam-migrate {escape(meta['version'])} · source {escape(meta['source'])} · "
        f"mapping profile sha256 <code>{escape(meta['profile_sha256'])}</code></p>"
    )


def _base(counts: dict[str, int], doc: dict[str, Any]) -> str:
    """What a breakdown's figures are of, said outright: it may cover every record, the importable ones, or neither."""
    counted = sum(counts.values())
    if not counted:
        return ""
    if counted == doc["valid"]:
        of = f"of the {doc['valid']:,} users ready to import"
    elif counted == doc["total"]:
        of = f"of all {doc['total']:,} records in the export"
    elif counted == doc["rejected"]:
        of = f"of the {doc['rejected']:,} rejected records"
    else:
        of = (
            f"{counted:,} counted, against {doc['valid']:,} ready to import and {doc['total']:,} in the export "
            "(a record may count more than once, or not at all when rejected before this was read)"
        )
    return f"<p class='base'>{escape(of)}</p>"


def _constraints(constraints: list[dict[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td>{escape(c['rule'])}</td><td class='n'>{c['value']:,}</td>"
        f"<td class='{'ok' if c['ok'] else 'bad'}'>{'✔ met' if c['ok'] else '✘ not met'}</td>"
        f"<td>{escape(c['note'])}</td></tr>"
        for c in constraints
    )
    return f"<table><tr><th>rule</th><th>value</th><th></th><th>note</th></tr>{rows}</table>"


def _estimate(e: dict[str, Any]) -> str:
    rows = [
        ("writes (users + extension properties)", e["writes"]),
        ("app registrations", e["apps"]),
        ("writes per second (effective)", str(e["writes_per_second"])),
        ("limited by", e["limited_by"]),
        ("estimated duration", e["human"]),
        ("apps needed to reach the tenant limit", e["apps_to_reach_tenant_limit"]),
    ]
    return _table(["", ""], rows)


def _groups(groups: dict[str, Any]) -> str:
    """Users in groups, then each legacy group/role and what it maps to (unmapped ones are named, not dropped)."""
    head = f"<p>{groups['users']:,} users in groups"
    if groups.get("memberships") or groups.get("app_roles"):
        head += f"; {groups['memberships']:,} memberships and {groups['app_roles']:,} app-role assignments to write"
    head += "</p>"
    rows = [(name, row["maps_to"], row["users"]) for name, row in (groups.get("mapping") or {}).items()]
    return head + (_table(["legacy group / role", "maps to", "users"], rows) if rows else _bars(groups["members"]))
