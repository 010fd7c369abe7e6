"""Planning: inventory and preflight of an export without any write (`ciam-migrate plan`).

`plan_export(export, profile, tenant=…, apps=…)` streams the export through its reader and the
mapping and returns a PlanResult; `plan_document` turns it into plan.json's dict and
`render_plan_html` into plan.html; `write_plan` writes both into a folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shared.planning.html import render_plan_html
from shared.planning.report import plan_document, plan_metadata
from shared.planning.run import PlanResult, plan_export


def write_plan(doc: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """plan.json and plan.html in `out_dir` (created if missing)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "plan.json"
    html_path = out_dir / "plan.html"
    json_path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    html_path.write_text(render_plan_html(doc), encoding="utf-8")
    return json_path, html_path


__all__ = ["PlanResult", "plan_document", "plan_export", "plan_metadata", "render_plan_html", "write_plan"]
