"""bench/exports.py writes, for every source, an export its reader reads as the intended population:
every record read, only the planted rejects rejected (so bench.plan_throughput measures real plans)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.exports import FORMATS, export_name, write_export
from shared.planning import plan_document, plan_export
from shared.profiles import load_profile

USERS = 60  # users 0 and 1000… carry a malformed email; every 10th is social (federated only)


@pytest.mark.parametrize("source", sorted(FORMATS))
@pytest.mark.parametrize("compress", [False, True])
def test_every_generated_export_plans_as_intended(source: str, compress: bool, tmp_path: Path) -> None:
    export = tmp_path / export_name(source, USERS, compress=compress)
    mapping = write_export(source, export, USERS, compress=compress)
    doc = plan_document(plan_export(export, load_profile(source, mapping), tenant="contoso.onmicrosoft.com"))
    reasons = sorted({r["reason"] for r in doc["rejects"]})
    assert doc["total"] == USERS
    if source == "b2c":  # the default b2c profile leaves federated identities off: social users are rejected
        assert reasons == ["federated_identity_not_enabled"] and doc["valid"] == USERS - USERS // 10
    else:
        assert reasons == ["invalid_email"] and doc["valid"] == USERS - 1
