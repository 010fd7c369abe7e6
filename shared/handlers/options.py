"""How a run reads and maps its export: its mapping profile, resolved once at planning, stored with the run."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from shared.handlers.workflow import Workflow
from shared.mapping import MappingOptions
from shared.profiles import load_profile
from shared.sources import SourceOptions


def resolve_options(source: str, mapping_ref: str | None, workflow: Workflow) -> tuple[SourceOptions, MappingOptions]:
    """The source's shipped profile with the run's mapping file (if any) laid over it. Raises ProfileError."""
    profile = load_profile(source, Path(mapping_ref) if mapping_ref else None)
    return profile.source_options(), profile.mapping_options(workflow.tenant, workflow.extensions_app_id)


def mapping_to_dict(options: MappingOptions) -> dict[str, Any]:
    return dataclasses.asdict(options)


def mapping_from_dict(data: dict[str, Any]) -> MappingOptions:
    return MappingOptions(**data)
