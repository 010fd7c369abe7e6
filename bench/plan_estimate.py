"""How close `plan`'s duration estimate comes to a measured import, MFA method and group membership writes included.

A generated jsonl export (users, a share of them with phones / an email method / a TOTP secret, and legacy groups:
see `FOLLOW_UPS`) is planned — plan's `estimate.seconds` is at Graph's real quota (3,000 writes / 150 s per app) —
and then imported with `ciam-migrate run`'s engine into the tenant emulator (its own process, quota windows
shortened --time-scale K times). Printed: the estimate ÷ K, the measured import time, their ratio, and how much of
the client's paced write rate the import used (the emulator's own write count over the import time). Pick K so the
run is quota-bound (writes/s used ≈ 100 % of paced), otherwise the ratio measures the machine, not the estimate.
`--without-groups` imports the same users with no [groups] table (their legacy groups stay unmapped: no writes).

    .venv/bin/python -m bench.plan_estimate [--users 2000] [--time-scale 1] [--without-groups]

Adding another kind of follow-up write (group memberships …) is one function: a `fields(i)` that adds
its interchange fields to user i, appended to FOLLOW_UPS; plan's estimate counts them through
shared/planning/report.py `follow_up_writes`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench.common import emulator_process
from cli.run_cmd import execute_run
from emulator import DEFAULT_EXTENSIONS_APP_ID
from shared.config import Settings, WriteQuota
from shared.planning import plan_document, plan_export
from shared.profiles import load_profile

TENANT = "contoso.onmicrosoft.com"


def mfa_fields(i: int) -> dict[str, Any]:
    """One user in four has no MFA; then one phone; two phones and an email; a phone and a TOTP secret."""
    phone, alternate = f"+1425{i:07d}", f"+44207{i:07d}"
    kind = i % 4
    if kind == 1:
        return {"phone": phone, "phoneVerified": True, "mfa": [{"type": "phone", "value": phone}]}
    if kind == 2:
        methods = [{"type": "phone", "value": phone}, {"type": "phone", "value": alternate},
                   {"type": "email", "value": f"backup{i}@example.org"}]  # fmt: skip
        return {"phone": phone, "phoneVerified": i % 8 == 2, "mfa": methods}
    if kind == 3:
        return {"mfa": [{"type": "phone", "value": f"+353861{i:06d}"}, {"type": "totp", "value": "JBSWY3DP"}]}
    return {}


def group_fields(i: int) -> dict[str, Any]:
    """Legacy groups: two of three users in one or two groups mapped by PROFILE; one in five also in an unmapped one."""
    groups = [["admins"], ["premium", "newsletter"], []][i % 3]
    return {"groups": groups + (["legacy-only"] if i % 5 == 0 else [])}


FOLLOW_UPS: list[Callable[[int], dict[str, Any]]] = [mfa_fields, group_fields]
# The mapping profile of the run: its [groups] table makes group_fields' memberships writes (docs/groups.md).
PROFILE_WITHOUT_GROUPS = 'source = "jsonl"\n'
PROFILE = PROFILE_WITHOUT_GROUPS + """[groups.map.admins]
group = "Shop admins"
[groups.map.premium]
group = "Premium customers"
[groups.map.newsletter]
group = "Newsletter"
"""


def write_export(path: Path, users: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        for i in range(1, users + 1):
            record: dict[str, Any] = {"legacyId": f"e{i:08d}", "email": f"e{i}@example.com",
                                      "password": {"plaintext": f"Str0ng-Pass-{i}!"}}  # fmt: skip
            for fields in FOLLOW_UPS:
                record.update(fields(i))
            out.write(json.dumps(record) + "\n")


def measure(users: int, scale: float, work: Path, *, groups: bool = True) -> dict[str, Any]:
    export = work / "export.jsonl"
    write_export(export, users)
    profile = work / "mapping.toml"
    profile.write_text(PROFILE if groups else PROFILE_WITHOUT_GROUPS, encoding="utf-8")
    doc = plan_document(plan_export(export, load_profile("jsonl", profile), tenant=TENANT, apps=1))
    estimate = doc["estimate"]
    with emulator_process("--time-scale", str(scale)) as base:
        settings = Settings(
            STATE_DIR=str(work / "state"), GRAPH_URL=base, TENANT=TENANT, EXTENSIONS_APP_ID=DEFAULT_EXTENSIONS_APP_ID,
            WRITE_QUOTA=WriteQuota(time_scale=scale), CHUNK_SIZE=500,
        )  # fmt: skip
        run = asyncio.run(execute_run(export, "jsonl", settings, mapping=profile, show_progress=False))
        stats = httpx.get(f"{base}/_emulator/stats", timeout=30).json()
    report = json.loads((work / "state" / "runs" / run.run_id / "report.json").read_text())
    assert report["counts"]["created"] == users and report["counts"]["failed"] == 0, report["counts"]
    measured = report["throughput"]["import_seconds"]
    expected = estimate["seconds"] / scale
    writes = sum(app["writes"] for app in stats["apps"].values())
    throttled = sum(app["throttled"] for app in stats["apps"].values())
    return {
        "users": users,
        "time_scale": scale,
        "groups": groups,
        "writes_by_kind": estimate["writes_by_kind"],
        "requests_by_kind": estimate.get("requests_by_kind"),
        "emulator": {"writes": writes, "throttled": throttled, "authMethods": stats["authMethods"]},
        "writes_per_second_used": round(writes / measured / scale, 2),  # at Graph's real scale, like the estimate
        "estimate_writes_per_second": estimate["writes_per_second"],
        "phones": doc["phones"],
        "methods_in_report": report["methods"],
        "groups_in_report": report.get("groups"),
        "estimate_s_scaled": round(expected, 1),
        "measured_import_s": round(measured, 1),
        "measured_over_estimate": round(measured / expected, 3) if expected else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument("--without-groups", action="store_true", help="the same users, no [groups] table (baseline)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = measure(args.users, args.time_scale, Path(tmp), groups=not args.without_groups)
    print(json.dumps(result, indent=2))
    ratio = result["measured_over_estimate"]
    verdict = "within" if ratio and abs(ratio - 1) <= 0.10 else "outside"
    print(
        f"plan estimate {result['estimate_s_scaled']} s, measured {result['measured_import_s']} s: "
        f"measured/estimate {ratio} ({verdict} 10 %); writes/s used {result['writes_per_second_used']} of the "
        f"{result['estimate_writes_per_second']} the budget paces (Graph's scale)"
    )


if __name__ == "__main__":
    main()
