"""Mapping profiles: declarative TOML that says how a vendor's export becomes the interchange record.

`load_profile(source, path)` returns a validated MappingProfile (the shipped default for the source,
overridden key by key by the user's file); `.source_options()` feeds the reader and
`.mapping_options(tenant, extensions_app_id)` feeds map_user. Errors: ProfileError (one line).
"""

from __future__ import annotations

from shared.profiles.loader import ProfileError, available_sources, load_profile
from shared.profiles.model import HashConfig, MappingProfile

__all__ = ["HashConfig", "MappingProfile", "ProfileError", "available_sources", "load_profile"]
