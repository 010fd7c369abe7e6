"""Applies a mapping profile's reader section to one native export record.

Input: the vendor's record as a dict, and the SourceOptions a mapping profile produced
(`fields`, `transforms`, `attributes`, `attributes_from`, `default_phone_region`). Output: the
interchange fields (camelCase keys) the vendor reader then completes with identities, password and
MFA. Paths are dotted (`user_metadata.tier`) with optional list indexes (`emails[0]`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared.profiles.transforms import Transform, TransformError, build_chain, split_full_name, to_boolean
from shared.reasons import safe_key
from shared.sources.base import SourceOptions, UnmappedFeatures
from shared.sources.hashes import from_crypt_string

_MISSING = object()
_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")

Path = tuple[str | int, ...]
_LENIENT = frozenset({"phone"})
_ATTRIBUTE_TYPES = (str, bool, int)


def _trim_lowercase(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _fused(names: list[str] | None) -> Transform | None:
    """One function for a chain build_chain would run step by step (same result): the email's trim+lowercase."""
    if names == ["trim", "lowercase"]:
        return _trim_lowercase
    return None


def compile_path(path: str) -> Path:
    """'identities[0].connection' → ('identities', 0, 'connection'). A key with a dot can't be addressed."""
    parts: list[str | int] = []
    for name, index in _SEGMENT.findall(path):
        parts.append(int(index) if index else name)
    return tuple(parts)


def lookup(record: Any, path: Path) -> Any:
    value = record
    for part in path:
        if isinstance(part, int):
            if not isinstance(value, list) or part >= len(value):
                return _MISSING
            value = value[part]
        else:
            if not isinstance(value, dict):
                return _MISSING
            value = value.get(part, _MISSING)
            if value is _MISSING:
                return _MISSING
    return value


class FieldProblem(ValueError):
    """A field value a transform refused; `target` names the interchange field, never the value."""

    def __init__(self, target: str, rule: str) -> None:
        self.target = target
        super().__init__(f"{target} {rule}")


@dataclass(frozen=True)
class _Field:
    target: str
    path: Path
    transform: Transform | None
    key: str | None  # set when the path is a single key: the fast case


def _field(target: str, path: str, transform: Transform | None) -> _Field:
    compiled = compile_path(path)
    single = compiled[0] if len(compiled) == 1 and isinstance(compiled[0], str) else None
    return _Field(target, compiled, transform, single)


def _compile_fields(
    steps: list[tuple[str, str | None, Path, Transform | None]],
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The field loop of FieldMap.extract, unrolled into one generated function (the hot loop of a plan).

    Per field, in profile order: read the value (one key: a dict lookup; else the general walk),
    skip it when missing, None or "", apply the transform; a TransformError is a FieldProblem naming
    the target, except for lenient targets (phone), which keep the raw value: the mapping leaves a
    non-E.164 phone out of the user and the plan counts it; one bad optional phone shouldn't cost the
    whole account. Names and keys enter the source only as repr() literals.
    """
    namespace: dict[str, Any] = {
        "_MISSING": _MISSING,
        "lookup": lookup,
        "TransformError": TransformError,
        "FieldProblem": FieldProblem,
    }
    lines = ["def read_fields(record):", "    out = {}", "    get = record.get"]
    for n, (target, key, path, transform) in enumerate(steps):
        if key is not None:
            lines.append(f"    value = get({key!r})")
            lines.append('    if value is not None and value != "":')
        else:
            namespace[f"path{n}"] = path
            lines.append(f"    value = lookup(record, path{n})")
            lines.append('    if value is not _MISSING and value is not None and value != "":')
        if transform is not None:
            namespace[f"transform{n}"] = transform
            failure = "pass" if target in _LENIENT else f"raise FieldProblem({target!r}, str(exc)) from None"
            lines += [
                "        try:",
                f"            value = transform{n}(value)",
                "        except TransformError as exc:",
                f"            {failure}",
            ]
        lines.append(f"        out[{target!r}] = value")
    lines.append("    return out")
    exec("\n".join(lines), namespace)  # noqa: S102 - source built above from repr() literals only
    compiled: Callable[[dict[str, Any]], dict[str, Any]] = namespace["read_fields"]
    return compiled


@dataclass(frozen=True)
class _Attribute:
    name: str
    path: Path
    type: str


class FieldMap:
    """The compiled reader section of a profile: built once per run, applied per record."""

    def __init__(self, options: SourceOptions) -> None:
        region = options.default_phone_region
        transforms = options.transforms
        self.fields = [
            _field(target, path, build_chain(transforms[target], region) if transforms.get(target) else None)
            for target, path in options.fields.items()
            if path
        ]
        self.attributes = [
            _Attribute(spec.name, compile_path(path), spec.type) for path, spec in options.attributes.items()
        ]
        self.attributes_from = [compile_path(p) for p in options.attributes_from]
        # Bag entries a field already reads (Keycloak's attributes.phoneNumber) are not attributes too.
        self._consumed = {
            f.path[: len(bag) + 1] for bag in self.attributes_from for f in self.fields if f.path[: len(bag)] == bag
        }
        # The per-record loops read these precompiled tuples (the hot path of a plan): each field as
        # (target, single key or None, path, transform, lenient); each bag with the names to skip in it.
        self._read_fields = _compile_fields(
            [(f.target, f.key, f.path, _fused(transforms.get(f.target)) or f.transform) for f in self.fields]
        )
        self._bags = [
            (bag, frozenset(e[len(bag)] for e in self._consumed if len(e) == len(bag) + 1 and e[: len(bag)] == bag))
            for bag in self.attributes_from
        ]
        self.username_enabled = options.username_enabled
        self.email_enabled = options.email_enabled
        self.hash_config = options.hash
        self._has_password_columns = any(f.target in ("password", "passwordHash", "passwordSalt") for f in self.fields)
        self.unmapped: UnmappedFeatures = options.unmapped
        self.malformed_hash = options.malformed_hash

    def legacy_id(self, record: dict[str, Any]) -> Any:
        for f in self.fields:
            if f.target == "legacyId":
                value = lookup(record, f.path)
                return None if value is _MISSING else value
        return None

    def source_of(self, target: str) -> str | None:
        for f in self.fields:
            if f.target == target:
                return ".".join(str(p) for p in f.path)
        return None

    def extract(self, record: dict[str, Any]) -> dict[str, Any]:
        """Interchange fields (and pseudo-targets) from one native record. Raises FieldProblem."""
        out: dict[str, Any] = self._read_fields(record)
        if "fullName" in out or "groups" in out:
            self._finish_names(out)
        if "enabled" in out:
            enabled = out.pop("enabled")
            out.setdefault("disabled", not enabled if isinstance(enabled, bool) else enabled)
        if not self.username_enabled:
            out.pop("username", None)
        if not self.email_enabled:
            out.pop("email", None)
        if self._has_password_columns:
            password = self._password_columns(out)
            if password is not None:
                out["password"] = password
        attributes = self._attributes(record)
        if attributes:
            out["attributes"] = attributes
        return out

    def _password_columns(self, out: dict[str, Any]) -> dict[str, Any] | None:
        """Pops the password pseudo-fields (flat exports: CSV columns) into the interchange `password`."""
        plaintext = out.pop("password", None)
        value = out.pop("passwordHash", None)
        salt = out.pop("passwordSalt", None)
        if value:
            config = self.hash_config
            if config is None:
                return {"hash": {**from_crypt_string(str(value)), "salt": salt}}
            params = config.params or None
            return {"hash": {"algorithm": config.algorithm, "value": str(value), "salt": salt, "params": params}}
        if plaintext:
            return {"plaintext": str(plaintext)}
        return None

    @staticmethod
    def _finish_names(out: dict[str, Any]) -> None:
        full = out.pop("fullName", None)
        if isinstance(full, str) and full.strip():
            given, surname = split_full_name(full)
            if "givenName" not in out and given:
                out["givenName"] = given
            if "surname" not in out and surname:
                out["surname"] = surname
            out.setdefault("displayName", " ".join(full.split()))
        groups = out.get("groups")
        if isinstance(groups, str):
            # CSV cells hold a list as "a;b" or "a,b"; the separator is whichever the cell uses.
            sep = ";" if ";" in groups else ","
            out["groups"] = [g.strip() for g in groups.split(sep) if g.strip()]

    def _attributes(self, record: dict[str, Any]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for source, consumed in self._bags:
            bag = lookup(record, source)
            if not isinstance(bag, dict):
                continue
            for name, value in bag.items():
                if consumed and name in consumed:
                    continue
                if isinstance(value, list) and len(value) == 1:
                    value = value[0]  # Keycloak keeps every attribute as a list of strings
                if value is None or value == "":
                    continue
                if isinstance(value, _ATTRIBUTE_TYPES):
                    found[name] = value
                else:
                    # Nested metadata has no extension-property shape; the plan lists it as not mapped.
                    self.unmapped.note(f"nested metadata '{'.'.join(map(str, source))}.{safe_key(name)}'")
        for attribute in self.attributes:
            value = lookup(record, attribute.path)
            if value is _MISSING or value is None or value == "":
                continue
            found[attribute.name] = _typed(attribute, value)
        return found


def _typed(attribute: _Attribute, value: Any) -> Any:
    if isinstance(value, list) and len(value) == 1:  # Keycloak keeps every attribute as a list
        value = value[0]
    try:
        if attribute.type == "Integer":
            if isinstance(value, bool):
                raise ValueError
            return int(value)
        if attribute.type == "Boolean":
            return to_boolean(value)
    except (TransformError, ValueError, TypeError):
        raise FieldProblem(f"attributes.{attribute.name}", f"is not a valid {attribute.type}") from None
    return value if isinstance(value, str) else str(value)
