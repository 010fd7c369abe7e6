"""How a run reads and maps its export: resolved once at planning, stored with the run."""

from __future__ import annotations

import dataclasses
from typing import Any

from shared.handlers.workflow import Workflow
from shared.mapping import MappingOptions
from shared.sources import SourceOptions


def resolve_options(source: str, mapping_ref: str | None, workflow: Workflow) -> tuple[SourceOptions, MappingOptions]:
    options = MappingOptions(tenant=workflow.tenant, extensions_app_id=workflow.extensions_app_id)
    return SourceOptions(), options


def mapping_to_dict(options: MappingOptions) -> dict[str, Any]:
    return dataclasses.asdict(options)


def mapping_from_dict(data: dict[str, Any]) -> MappingOptions:
    return MappingOptions(**data)
