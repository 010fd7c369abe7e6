"""Loads a mapping profile: the source's shipped default, overridden key by key by the user's TOML file.

Errors are ProfileError with one line naming the file and the offending key (`fields.emial`), so a
person can fix the profile without reading a traceback.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from shared.profiles.model import MappingProfile


class ProfileError(Exception):
    """The mapping profile cannot be used. str() is the one-line message for the user."""


def available_sources() -> list[str]:
    folder = resources.files("shared.profiles.defaults")
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


def load_profile(source: str, path: Path | None = None) -> MappingProfile:
    """The default profile of `source`, with `path`'s keys laid over it when given."""
    default_file = resources.files("shared.profiles.defaults").joinpath(f"{source}.toml")
    if not default_file.is_file():
        raise ProfileError(f"no mapping profile for source {source!r}; known: {', '.join(available_sources())}")
    data = _parse(default_file.read_text(encoding="utf-8"), f"default profile {source}.toml")
    where = f"default profile {source}.toml"
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ProfileError(f"{path}: cannot read the mapping profile ({exc})") from None
        override = _parse(text, str(path))
        declared = override.get("source", source)
        if declared != source:
            raise ProfileError(f"{path}: source: the profile is for {declared!r} but --source is {source!r}")
        data = _merge(data, override)
        where = str(path)
    data["source"] = source
    try:
        return MappingProfile.model_validate(data)
    except ValidationError as exc:
        raise ProfileError(f"{where}: {first_problem(exc)}") from None


def _parse(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{where}: invalid TOML: {exc}") from None


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; any other value replaces the default (so a list is replaced whole)."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _key_path(loc: tuple[int | str, ...], root: str = "profile") -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif "[" in part or "function-after" in part:
            continue  # pydantic's validator frames, not keys of the file
        else:
            text += f".{part}" if text else part
    return text or root


def first_problem(exc: ValidationError, root: str = "profile") -> str:
    """`key.path[0]: message (+N more)` for the first problem pydantic found (profiles and tenant.toml)."""
    problems = exc.errors(include_input=False, include_url=False, include_context=False)
    first = problems[0]
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
    where = _key_path(first["loc"], root)
    return f"{where}: {message}{more}" if where else f"{message}{more}"
