"""MFA methods read from each source's own export format, and what the import makes of them (plan_methods):
Auth0 `mfa_factors`, Firebase `mfaInfo`, Cognito SMS MFA (ListUsers and the CSV flag), Keycloak OTP credentials
(→ not importable, reason mfa_totp_not_importable)."""

from __future__ import annotations

import json
from pathlib import Path

from shared.auth_methods import MethodSkip, MethodWrite, graph_phone, plan_methods
from shared.reasons import Reason
from tests.sources.conftest import SAMPLES


def writes(user) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(w.key, w.value) for w in plan_methods(user).writes]


def skips(user) -> list[tuple[str, Reason]]:  # type: ignore[no-untyped-def]
    return [(s.key, s.code) for s in plan_methods(user).skips]


def test_auth0_mfa_factors_give_phone_email_and_a_skipped_totp(read, tmp_path: Path) -> None:
    export = tmp_path / "users.ndjson"
    factors = [
        {"phone": {"value": "+14255550100"}},
        {"totp": {"secret": "JBSWY3DPEHPK3PXP"}},
        {"email": {"value": "second@example.org"}},
        {"phone": {"value": "+442079460958"}},
    ]
    export.write_text(json.dumps({"user_id": "auth0|1", "email": "a@example.com", "mfa_factors": factors}) + "\n")

    user = read("auth0", export).user("auth0|1")

    assert [m.type for m in user.mfa] == ["phone", "totp", "email", "phone"]
    assert writes(user) == [
        ("phone:mobile", "+1 4255550100"),
        ("email", "second@example.org"),
        ("phone:alternateMobile", "+44 2079460958"),
    ]
    assert skips(user) == [("totp#1", Reason.MFA_TOTP_NOT_IMPORTABLE)]


def test_firebase_mfa_info_phone_enrolment_is_a_mobile_method(read) -> None:
    result = read("firebase", SAMPLES / "firebase" / "users.json", SAMPLES / "firebase" / "mapping.toml")
    with_mfa = [r.user for r in result.records if r.user.mfa]
    assert with_mfa, "the Firebase sample has an mfaInfo enrolment"
    assert writes(with_mfa[0]) == [("phone:mobile", "+1 6505550199")]


def test_cognito_sms_mfa_from_list_users_and_from_the_csv_flag(read) -> None:
    for export in (SAMPLES / "cognito" / "list-users.json", SAMPLES / "cognito" / "import.csv"):
        users = [r.user for r in read("cognito", export).records]
        sms = [u for u in users if u.mfa]
        assert sms, f"{export.name}: a user with SMS MFA"
        for user in sms:
            ((key, value),) = writes(user)
            assert key == "phone:mobile" and value == graph_phone(user.phone or "")


def test_keycloak_otp_credential_is_reported_not_importable_with_its_reason(read) -> None:
    result = read("keycloak", SAMPLES / "keycloak" / "acme-realm.json")
    with_otp = [r.user for r in result.records if any(m.type == "totp" for m in r.user.mfa)]
    assert with_otp, "the Keycloak sample has an OTP credential"
    for user in with_otp:
        assert writes(user) == []
        (skip,) = plan_methods(user).skips
        assert isinstance(skip, MethodSkip) and skip.code == Reason.MFA_TOTP_NOT_IMPORTABLE


def test_phones_past_two_bad_numbers_and_a_second_email_are_skipped_with_reasons(read, tmp_path: Path) -> None:
    export = tmp_path / "users.jsonl"
    mfa = [{"type": "phone", "value": v} for v in ("+14255550100", "+1 425 555 0100", "0425", "+33612345678",
                                                   "+4915123456789")]  # fmt: skip
    mfa += [{"type": "email", "value": "a@example.org"}, {"type": "email", "value": "b@example.org"}]
    export.write_text(json.dumps({"legacyId": "x1", "email": "x@example.com", "mfa": mfa}) + "\n")

    user = read("jsonl", export).user("x1")

    assert writes(user) == [("phone:mobile", "+1 4255550100"), ("phone:alternateMobile", "+33 612345678"),
                            ("email", "a@example.org")]  # fmt: skip
    assert skips(user) == [("phone#3", Reason.MFA_PHONE_INVALID), ("phone#5", Reason.MFA_PHONE_LIMIT),
                           ("email#2", Reason.MFA_EMAIL_LIMIT)]  # fmt: skip
    assert all(isinstance(w, MethodWrite) for w in plan_methods(user).writes)
