"""Plan waves over an export: read it once, build the WavePlan (shared/waves.py) and count each wave.

In: the export, its source profile and the rule the operator chose. Out: a WavePlan whose waves carry
the count of users they hold in that export, plus `unassigned`. Records the reader cannot read are
not counted here (the run of wave 1 reports them among its rejects). Reads only; writes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path

from shared.profiles import MappingProfile
from shared.records import LegacyUser, SourceRecord
from shared.sources import get_reader
from shared.waves import NO_VALUE, Wave, WavePlan, WaveRuleError, app_values, check_field, field_values, label_of
from shared.waves import percent_waves as _percent_waves


def _users(export: Path, profile: MappingProfile) -> Iterator[LegacyUser]:
    for item in get_reader(profile.source)(export, profile.source_options()):
        if isinstance(item, SourceRecord):
            yield item.user


def plan_waves(
    export: Path,
    profile: MappingProfile,
    *,
    now: datetime,
    by: str | None = None,
    values: list[str] | None = None,
    percent: list[int] | None = None,
    apps: list[str] | None = None,
    app_field: str = "attributes.apps",
    cutover: dict[int, list[str]] | None = None,
) -> WavePlan:
    """Exactly one of `by`, `percent`, `apps`. `values` orders (and limits) a `by` rule's waves."""
    if sum(x is not None for x in (by, percent, apps)) != 1:
        raise WaveRuleError("give exactly one of --by FIELD, --percent 5,25,100 or --apps shop,blog")
    users = _users(export, profile)
    if percent is not None:
        plan = WavePlan(kind="percent", waves=_percent_waves(percent), planned_at=now)
        counts = Counter(plan.wave_of(u) for u in users)
    elif apps is not None:
        check_field(app_field)
        if not apps:
            raise WaveRuleError("--apps: name at least one application, e.g. --apps shop,blog")
        waves = [Wave(number=n, label=app, values=[app], apps=[app]) for n, app in enumerate(apps, start=1)]
        plan = WavePlan(kind="apps", field=app_field, waves=waves, planned_at=now)
        held = Counter(frozenset(app_values(u, app_field)) for u in users)
        counts = _count_sets(plan, held)
    else:
        field = check_field(by or "")
        held = Counter(frozenset(field_values(u, field)) for u in users)
        order = values if values else _value_order(held)
        waves = [Wave(number=n, label=label_of(v), values=[v]) for n, v in enumerate(order, start=1)]
        plan = WavePlan(kind="field", field=field, waves=waves, planned_at=now)
        counts = _count_sets(plan, held)
    return _with_counts(plan, counts, export, profile.source, cutover or {})


def _value_order(held: Counter[frozenset[str]]) -> list[str]:
    """Every value seen, sorted, the users without one last."""
    seen = {v for values in held for v in values}
    return sorted(seen - {NO_VALUE}) + ([NO_VALUE] if NO_VALUE in seen else [])


def _count_sets(plan: WavePlan, held: Counter[frozenset[str]]) -> Counter[int | None]:
    counts: Counter[int | None] = Counter()
    for values, n in held.items():
        counts[next((w.number for w in plan.waves if values.intersection(w.values)), None)] += n
    return counts


def _with_counts(
    plan: WavePlan, counts: Counter[int | None], export: Path, source: str, cutover: dict[int, list[str]]
) -> WavePlan:
    if unknown := sorted(set(cutover) - {w.number for w in plan.waves}):
        raise WaveRuleError(f"--cutover {unknown[0]}=…: the plan has waves 1 to {len(plan.waves)}")
    waves = [
        w.model_copy(update={"planned_count": counts.get(w.number, 0), "apps": _merge(w.apps, cutover.get(w.number))})
        for w in plan.waves
    ]
    return plan.model_copy(
        update={"waves": waves, "unassigned": counts.get(None, 0), "export_ref": str(export), "source": source}
    )


def _merge(first: list[str], more: Iterable[str] | None) -> list[str]:
    return list(dict.fromkeys([*first, *(more or [])]))
