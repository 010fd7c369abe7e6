"""Directory extension properties (graph docs resources/extensionproperty.md,
api/application-post-extensionproperty.md; entra-docs user-flow-add-custom-attributes).

Names are `extension_<appIdWithoutHyphens>_<name>`; a user may hold at most 100 values; String is
at most 250 characters (External ID's service limits; the generic extensionProperty page says 256,
the stricter product number wins: `shared/entra_limits.py`) and Binary at most 256 bytes. Writing
an unregistered name is a 400.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from emulator.errors import bad_request, invalid_value
from shared.entra_limits import MAX_EXTENSION_STRING

DATA_TYPES = frozenset({"Binary", "Boolean", "DateTime", "Integer", "LargeInteger", "String"})
TARGET_OBJECTS = frozenset(
    {"User", "Group", "AdministrativeUnit", "Application", "Device", "Organization", "ServicePrincipal"}
)
_NAME = re.compile(r"^[A-Za-z0-9_]{1,120}$")
MAX_STRING = MAX_EXTENSION_STRING
MAX_BINARY = 256
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)


@dataclass(frozen=True)
class ExtensionProperty:
    id: str
    app_object_id: str
    name: str  # the full extension_<appId>_<name>
    data_type: str
    is_multi_valued: bool
    target_objects: tuple[str, ...]
    app_display_name: str

    def to_graph(self) -> dict[str, Any]:
        return {
            "@odata.type": "#microsoft.graph.extensionProperty",
            "id": self.id,
            "deletedDateTime": None,
            "appDisplayName": self.app_display_name,
            "dataType": self.data_type,
            "isMultiValued": self.is_multi_valued,
            "isSyncedFromOnPremises": False,
            "name": self.name,
            "targetObjects": list(self.target_objects),
        }

    def to_state(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> ExtensionProperty:
        return cls(**{**data, "target_objects": tuple(data["target_objects"])})


def full_name(app_id: str, short_name: str) -> str:
    return f"extension_{app_id.replace('-', '')}_{short_name}"


def new_extension_property(body: Any, app_id: str, app_object_id: str, app_name: str) -> ExtensionProperty:
    if not isinstance(body, dict):
        raise bad_request("The request body must be an extensionProperty object.")
    name = body.get("name")
    data_type = body.get("dataType")
    targets = body.get("targetObjects")
    multi = body.get("isMultiValued", False)
    if not isinstance(name, str) or not _NAME.match(name):
        raise bad_request("Property 'name' of the extensionProperty is invalid.")
    if data_type not in DATA_TYPES:
        raise bad_request(f"Property 'dataType' must be one of {', '.join(sorted(DATA_TYPES))}.")
    if (
        not isinstance(targets, list)
        or not targets
        or not all(isinstance(t, str) and t in TARGET_OBJECTS for t in targets)
    ):
        raise bad_request("Property 'targetObjects' of the extensionProperty is invalid.")
    if not isinstance(multi, bool):
        raise bad_request("Property 'isMultiValued' of the extensionProperty is invalid.")
    return ExtensionProperty(
        id=str(uuid.uuid4()),
        app_object_id=app_object_id,
        name=full_name(app_id, name),
        data_type=str(data_type),
        is_multi_valued=multi,
        target_objects=tuple(targets),
        app_display_name=app_name,
    )


def check_extension_values(
    body: dict[str, Any], registry: dict[str, ExtensionProperty], current: dict[str, Any], limit: int
) -> None:
    """Validate every `extension_*` key of `body`; `current` is the user's stored values."""
    names = [k for k in body if k.startswith("extension_")]
    if not names:
        return
    for key in names:
        prop = registry.get(key)
        if prop is None or "User" not in prop.target_objects:
            raise bad_request(f"Property '{key}' does not exist as a declared property or extension property.")
        value = body[key]
        if value is None:
            continue
        if prop.is_multi_valued:
            if not isinstance(value, list) or not all(_value_ok(prop.data_type, v) for v in value):
                raise invalid_value(key)
        elif not _value_ok(prop.data_type, value):
            raise invalid_value(key)
    after = {k for k, v in current.items() if k.startswith("extension_") and v is not None}
    for key in names:
        if body[key] is None:
            after.discard(key)
        else:
            after.add(key)
    if len(after) > limit:
        raise bad_request(f"A user can hold at most {limit} extension property values.")


def _value_ok(data_type: str, value: Any) -> bool:
    if data_type == "String":
        return isinstance(value, str) and len(value) <= MAX_STRING
    if data_type == "Boolean":
        return isinstance(value, bool)
    if data_type in ("Integer", "LargeInteger"):
        low, high = INT32 if data_type == "Integer" else INT64
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    if data_type == "DateTime":
        if not isinstance(value, str):
            return False
        try:
            dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return False
        return True
    if data_type == "Binary":
        if not isinstance(value, str):
            return False
        try:
            return len(base64.b64decode(value, validate=True)) <= MAX_BINARY
        except (binascii.Error, ValueError):
            return False
    return False
