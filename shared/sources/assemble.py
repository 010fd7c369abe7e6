"""Turns the fields a vendor reader collected into a SourceRecord, or a SourceReject with a reason.

Shared by every vendor reader so that validation errors read the same everywhere and never echo
an input value.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from shared.reasons import Reason, describe_validation_error
from shared.records import LegacyUser
from shared.sources.base import SourceItem, SourceRecord, SourceReject
from shared.sources.fieldmap import FieldMap, FieldProblem


def problem_reject(line: int, legacy_id: Any, problem: FieldProblem) -> SourceReject:
    if problem.target == "phone":
        code = Reason.INVALID_PHONE
    elif problem.target.startswith("attributes."):
        code = Reason.ATTRIBUTE_INVALID
    else:
        code = Reason.INVALID_RECORD
    return SourceReject(line, _id(legacy_id), code, str(problem))


def extract(line: int, fieldmap: FieldMap, native: dict[str, Any]) -> dict[str, Any] | SourceReject:
    try:
        return fieldmap.extract(native)
    except FieldProblem as problem:
        return problem_reject(line, fieldmap.legacy_id(native), problem)


def malformed_hash(line: int, fields: dict[str, Any], fieldmap: FieldMap) -> SourceReject | None:
    """A passwordHash that is not a string: a reject, or (profile `password.malformed_hash = "reset"`)
    a counted warning, the user then has no password and goes the reset path. Never silent."""
    if fieldmap.malformed_hash == "reset":
        fieldmap.unmapped.note("malformed passwordHash (not a string; the user resets the password)")
        return None
    return SourceReject(line, _id(fields.get("legacyId")), Reason.INVALID_PASSWORD_HASH, "passwordHash is not a string")


def finish(line: int, fields: dict[str, Any]) -> SourceItem:
    legacy_id = fields.get("legacyId")
    if isinstance(legacy_id, int) and not isinstance(legacy_id, bool):
        fields["legacyId"] = str(legacy_id)
    elif not legacy_id:
        return SourceReject(line, None, Reason.MISSING_FIELD, "legacyId: no user id in the record")
    try:
        return SourceRecord(line, LegacyUser.model_validate(fields))
    except ValidationError as exc:
        code, message = describe_validation_error(exc)
        return SourceReject(line, _id(fields.get("legacyId")), code, message)


def _id(value: Any) -> str | None:
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value)[:256]
    return None
