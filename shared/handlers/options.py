"""How a run reads and maps its export: its mapping profile, resolved once at planning, stored with the run."""

from __future__ import annotations

from pathlib import Path

from shared.handlers.workflow import Workflow
from shared.mapping import MappingOptions
from shared.profiles import load_profile
from shared.sources import SourceOptions


def resolve_options(source: str, mapping_ref: str | None, workflow: Workflow) -> tuple[SourceOptions, MappingOptions]:
    """The source's shipped profile with the run's mapping file (if any) laid over it. Raises ProfileError."""
    profile = load_profile(source, Path(mapping_ref) if mapping_ref else None)
    return profile.source_options(), profile.mapping_options(workflow.tenant, workflow.extensions_app_id)


class RunNotPlanned(LookupError):
    """A chunk of a run whose mapping was never stored (planning did not run): a permanent error."""


def mapping_from_dict(mapping: MappingOptions | None) -> MappingOptions:
    """The run's MappingOptions as planning stored them (RunState.mapping is the model itself)."""
    if mapping is None:
        raise RunNotPlanned("the run has no planned mapping; plan the export first")
    return mapping
