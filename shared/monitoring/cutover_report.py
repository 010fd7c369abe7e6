"""cutover.html: the dashboard as one offline page — inline SVG charts and CSS, no scripts, no external files.
Everything shown is an aggregate (counts, gauges, alert names); no user id, name or address appears."""

from __future__ import annotations

import html
from datetime import datetime

from shared.monitoring.dashboard import BUDGET_MS, Dashboard

_CSS = """body{font:14px system-ui,sans-serif;margin:2rem;color:#1b1f24;max-width:980px}
h1{font-size:1.5rem}h2{font-size:1.1rem;margin-top:2rem}.kpis{display:flex;gap:1rem;flex-wrap:wrap}
.kpi{border:1px solid #d0d7de;border-radius:8px;padding:.8rem 1rem;min-width:10rem}
.kpi b{display:block;font-size:1.6rem}
table{border-collapse:collapse}td,th{border-bottom:1px solid #d0d7de;padding:.3rem .8rem;text-align:left}
.sev1{color:#cf222e}.sev2{color:#bc4c00}.sev3{color:#9a6700}svg{background:#f6f8fa;border-radius:6px}"""


def _chart(series: list[tuple[datetime, float]], title: str, colour: str, unit: str = "") -> str:
    if len(series) < 2:
        return f"<p>{html.escape(title)}: not enough points yet.</p>"
    width, height, pad = 900, 220, 40
    t0, t1 = series[0][0].timestamp(), series[-1][0].timestamp()
    low, high = min(v for _, v in series), max(v for _, v in series)
    span_t, span_v = max(t1 - t0, 1e-9), max(high - low, 1e-9)
    points = " ".join(
        f"{pad + (t.timestamp() - t0) / span_t * (width - 2 * pad):.1f},"
        f"{height - pad - (v - low) / span_v * (height - 2 * pad):.1f}"
        for t, v in series
    )
    return (f'<figure><figcaption>{html.escape(title)}</figcaption>'
            f'<svg role="img" aria-label="{html.escape(title)}" viewBox="0 0 {width} {height}" width="100%">'
            f'<polyline fill="none" stroke="{colour}" stroke-width="2.5" points="{points}"/>'
            f'<text x="{pad}" y="{pad - 10}" font-size="12">{high:.4g}{unit}</text>'
            f'<text x="{pad}" y="{height - 10}" font-size="12">{low:.4g}{unit}</text></svg></figure>')  # fmt: skip


def _bars(counts: dict[str, int], title: str) -> str:
    if not counts:
        return f"<p>{html.escape(title)}: none yet.</p>"
    top = max(counts.values()) or 1
    rows = "".join(
        f'<tr><td>{html.escape(k)}</td><td>{v}</td><td><svg width="300" height="14"><rect width="{300 * v / top:.1f}" '
        f'height="14" fill="#0969da"/></svg></td></tr>'
        for k, v in sorted(counts.items(), key=lambda kv: -kv[1])
    )
    return f"<h2>{html.escape(title)}</h2><table>{rows}</table>"


def render_cutover_html(board: Dashboard, *, title: str = "ciam-migrate cutover") -> str:
    pct = board.pct_migrated_now
    remaining = board.flagged_remaining[-1][1] if board.flagged_remaining else None
    cleared = board.flags_cleared[-1][1] if board.flags_cleared else 0
    mean = f"{board.latency_mean_ms:.0f} ms" if board.latency_mean_ms is not None else "–"
    p95 = f"{board.latency_p95_ms:.0f} ms" if board.latency_p95_ms is not None else "–"
    kpis = [
        ("% of active users migrated", f"{pct:.1f} %" if pct is not None else "–"),
        ("users still flagged", f"{remaining:.0f}" if remaining is not None else "–"),
        ("flags cleared", f"{cleared:.0f}"),
        (f"JIT latency mean / p95 (budget {BUDGET_MS:.0f} ms)", f"{mean} / {p95}"),
        ("alerts fired", str(len(board.alerts))),
    ]
    kpi_html = "".join(f'<div class="kpi">{html.escape(k)}<b>{html.escape(v)}</b></div>' for k, v in kpis)
    alert_rows = "".join(
        f'<tr class="sev{a.severity}"><td>{html.escape(a.raised_at.strftime("%H:%M:%S"))}</td><td>Sev{a.severity}</td>'
        f"<td>{html.escape(a.key)}</td><td>{html.escape(a.summary)}</td><td>{a.value:.4g} &gt; {a.threshold:.4g}</td></tr>"  # noqa: E501
        for a in board.alerts
    ) or "<tr><td colspan=5>No alert fired.</td></tr>"
    body = (
        f"<h1>{html.escape(title)}</h1><div class=kpis>{kpi_html}</div>"
        "<h2>The long tail</h2>"
        + _chart(board.flagged_remaining, "Users still flagged (legacy hash waiting)", "#cf222e")
        + _chart(board.flags_cleared, "Flags cleared (MigratePassword), cumulative", "#1a7f37")
        + _chart(board.pct_active_migrated, "% of users who signed in since cutover that are migrated", "#0969da", " %")
        + _bars(dict(board.jit_actions), "JIT decisions (our endpoint)")
        + _bars(dict(board.outcomes), "Sign-in outcomes (code, outcome)")
        + "<h2>Alerts</h2><table><tr><th>at</th><th>sev</th><th>alert</th><th>what</th><th>value</th></tr>"
        + f"{alert_rows}</table>"
    )
    head = f'<meta charset="utf-8"><title>{html.escape(title)}</title><meta name="viewport" content="width=device-width">'  # noqa: E501
    return f'<!doctype html><html lang="en"><head>{head}<style>{_CSS}</style></head><body>{body}</body></html>'
