"""plan counts what the MFA import will write (and what it can't), the phones it could use, and prices the writes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from shared.adapters.local.ledger import SqliteLedger
from shared.outcomes import LedgerEntry, MethodOutcome, MethodState, Outcome
from shared.planning import plan_document, plan_export
from shared.profiles import load_profile


def test_plan_counts_phones_and_importable_methods_and_adds_their_writes_to_the_estimate(tmp_path: Path) -> None:
    export = tmp_path / "users.jsonl"
    rows = [
        {"legacyId": "a", "email": "a@example.com", "phone": "+14255550100", "phoneVerified": True,
         "mfa": [{"type": "phone", "value": "+14255550100"}, {"type": "email", "value": "a2@example.org"}]},
        {"legacyId": "b", "email": "b@example.com", "phone": "+14255550101",
         "mfa": [{"type": "totp", "value": "JBSWY3DP"}]},
        {"legacyId": "c", "email": "c@example.com", "phone": "+14255550102", "phoneVerified": False},
        {"legacyId": "d", "email": "not-an-email", "mfa": [{"type": "phone", "value": "+14255550103"}]},  # rejected
    ]  # fmt: skip
    export.write_text("".join(json.dumps(r) + "\n" for r in rows))

    doc = plan_document(plan_export(export, load_profile("jsonl", None), tenant="contoso.onmicrosoft.com"))

    assert doc["phones"] == {"verified": 1, "unverified": 2}
    assert doc["mfa"]["importable"] == {"phone": 1, "email": 1}  # the rejected user's phone is not written
    assert doc["mfa"]["not_importable"] == {"mfa_totp_not_importable": 1}
    by_kind = doc["estimate"]["writes_by_kind"]
    assert by_kind["users"] == 3 and by_kind["mfa methods"] == 2
    assert doc["estimate"]["writes"] == sum(by_kind.values())
    # a handful of writes leaves in the budget's first burst (40): no wait; users and methods 20 to a $batch
    assert doc["estimate"]["seconds"] == 0
    assert doc["estimate"]["requests_by_kind"] == {"users": 1, "mfa methods": 1, "extension properties": 2}


async def test_the_sqlite_ledger_keeps_each_methods_state(tmp_path: Path) -> None:
    ledger = SqliteLedger(tmp_path / "ledger.db")
    methods = {
        "phone:mobile": MethodOutcome(state=MethodState.IMPORTED, sent=True),
        "totp#1": MethodOutcome(state=MethodState.SKIPPED, code="mfa_totp_not_importable"),
    }
    entry = LedgerEntry(source="jsonl", legacy_id="a", run_id="r", outcome=Outcome.CREATED, object_id="o",
                        updated_at=datetime(2026, 12, 2, tzinfo=UTC), methods=methods)  # fmt: skip
    await ledger.record([entry])
    assert (await ledger.get_many("jsonl", ["a"]))["a"].methods == methods
