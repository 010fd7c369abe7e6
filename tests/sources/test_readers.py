"""Each reader on a sample shaped as its vendor documents it: the interchange records that come out."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path

from shared.passwords import SUPPORTED_ALGORITHMS
from shared.reasons import Reason

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def test_auth0_export_job_and_hash_export_lines(read) -> None:
    result = read("auth0", SAMPLES / "auth0" / "users.ndjson")
    assert len(result.items) == 9 and not result.rejects
    ada = result.user("auth0|5f7c8ec7c33c6c004bbafe82")
    assert (ada.email, ada.username, ada.phone, ada.given_name) == (
        "ada.lovelace@example.com",
        "ada_l",
        "+442079460958",
        "Ada",
    )
    assert ada.password.hash.algorithm == "bcrypt"
    assert ada.password.hash.value.get_secret_value().startswith("$2b$10$")
    assert ada.attributes == {"loyalty_tier": "gold", "marketing_opt_in": True}  # nested preferences left out
    grace = result.user("google-oauth2|103547991597142817347")
    assert [(i.provider, i.subject) for i in grace.identities] == [("google.com", "103547991597142817347")]
    # The hash export has no user_id: it is auth0|<alt_id or _id.$oid>.
    assert result.user("auth0|5dea9f9c82dd7c0e76e4ec93").email == "edsger.dijkstra@example.com"
    assert result.user("auth0|euclid").password.hash.algorithm == "crypt-1"
    assert result.user("auth0|60a1b2c3d4e5f6a7b8c9d0e1").email == "alan.turing@example.com"  # trimmed, lowercased
    assert ada.groups == ["customer"]  # app_metadata.roles: groups for the [groups] table
    assert not any("app_metadata" in f for f in result.unmapped.counts)  # only roles in it, and they map
    assert any("passwordless SMS" in f for f in result.unmapped.counts)


def test_auth0_bad_line_after_a_good_one_is_one_reject(read, tmp_path: Path) -> None:
    export = tmp_path / "users.ndjson"
    export.write_text('{"user_id": "auth0|1", "email": "a@example.com"}\n{"user_id": \n[1]\n', encoding="utf-8")
    result = read("auth0", export)
    assert len(result.records) == 1
    assert [(r.line, r.code) for r in result.rejects] == [(2, Reason.INVALID_JSON), (3, Reason.INVALID_JSON)]


def test_firebase_export_with_hash_config_from_profile(read) -> None:
    result = read("firebase", SAMPLES / "firebase" / "users.json", SAMPLES / "firebase" / "mapping.toml")
    assert len(result.records) == 4 and not result.rejects
    ada = result.user("Ky3Bt3nN9aWz0vF2sVh1m8pQcRx1")
    password = ada.password.hash
    assert password.algorithm == "firebase-scrypt"
    assert base64.b64decode(password.value.get_secret_value()) and base64.b64decode(password.salt.get_secret_value())
    assert password.params == {
        "signerKey": "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
        "saltSeparator": "Bw==",
        "rounds": 8,
        "memCost": 14,
    }
    assert ada.created_at.year == 2021 and ada.attributes == {"admin": False, "plan": "pro"}
    alan = result.user("Mn3Bv6Cx9Zl2Kj5Hg8Fd1Sa4Qw04")
    assert alan.disabled and [m.type for m in alan.mfa] == ["phone"]
    grace = result.user("Vx8Lq2Pz7Hn4Ka1Bb6Cc3Dd9Ee02")
    assert [(i.provider, i.subject) for i in grace.identities] == [("google.com", "103547991597142817347")]
    assert any("phone number sign-in" in f for f in result.unmapped.counts)


def test_keycloak_realm_export_credentials(read) -> None:
    result = read("keycloak", SAMPLES / "keycloak" / "acme-realm.json")
    assert len(result.records) == 4  # the billing service account is not a customer
    ada = result.user("3f1b5c2e-6a7d-4e8f-9a0b-1c2d3e4f5a6b")
    assert ada.password.hash.algorithm == "pbkdf2-sha256"
    assert ada.password.hash.params == {"iterations": 27500, "keyLength": 64}
    assert ada.phone == "+442079460958" and ada.attributes == {"loyaltyTier": "gold"}
    assert ada.groups == ["premium", "customer"]  # the group, then the realm role (not default-roles-acme)
    assert [m.type for m in ada.mfa] == ["totp"]
    grace = result.user("7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d")
    phc = grace.password.hash.value.get_secret_value()
    assert grace.password.hash.algorithm == "argon2" and phc.startswith("$argon2id$v=19$m=7168,t=5,p=1$")
    alan = result.user("0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f")
    assert alan.disabled and alan.password.hash.algorithm == "pbkdf2-sha512"
    katherine = result.user("5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b")
    assert katherine.password.hash.value.get_secret_value().startswith("$2")
    assert [(i.provider, i.subject) for i in katherine.identities] == [("google.com", "112233445566778899")]
    for record in result.records:
        assert record.user.password.hash.algorithm in SUPPORTED_ALGORITHMS


def test_keycloak_argon2_phc_verifies_with_argon2_cffi(read) -> None:
    from argon2 import PasswordHasher

    grace = read("keycloak", SAMPLES / "keycloak" / "acme-realm.json").user("7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d")
    assert PasswordHasher().verify(grace.password.hash.value.get_secret_value(), "Passw0rd!")


def test_keycloak_users_n_files_in_order(read, tmp_path: Path) -> None:
    for n in (1, 0, 10):
        users = [
            {"id": f"u{n}-{i}", "username": f"user{n}x{i}", "email": f"u{n}x{i}@example.com", "enabled": True}
            for i in range(2)
        ]
        (tmp_path / f"acme-users-{n}.json").write_text(json.dumps({"realm": "acme", "users": users}), encoding="utf-8")
    (tmp_path / "acme-realm.json").write_text(json.dumps({"realm": "acme", "users": []}), encoding="utf-8")
    result = read("keycloak", tmp_path)
    assert [r.user.legacy_id for r in result.records] == ["u0-0", "u0-1", "u1-0", "u1-1", "u10-0", "u10-1"]


def test_cognito_list_users_pages(read) -> None:
    result = read("cognito", SAMPLES / "cognito" / "list-users.json")
    assert len(result.records) == 3  # two concatenated pages
    ada = result.user("8c1b2a3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d")
    assert ada.attributes == {"tier": "gold"} and ada.email_verified is True and ada.password is None
    assert [m.type for m in ada.mfa] == ["phone"] and ada.username is None  # usernames off by default
    grace = result.user("1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d")
    assert [(i.provider, i.subject) for i in grace.identities] == [("google.com", "103547991597142817347")]
    assert grace.given_name == "Grace" and grace.surname == "Hopper"  # `name` split
    assert result.user("2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e").disabled


def test_cognito_import_csv_header(read) -> None:
    result = read("cognito", SAMPLES / "cognito" / "import.csv")
    assert [r.user.legacy_id for r in result.records] == ["ada", "grace", "alan"]
    alan = result.user("alan")
    assert (alan.given_name, alan.surname, alan.phone) == (
        "Alan",
        "Turing",
        "+14155550199",
    )  # "Turing, Alan"; US region
    assert result.user("ada").updated_at is not None and [m.type for m in result.user("ada").mfa] == ["phone"]


def test_okta_csv(read) -> None:
    result = read("okta", SAMPLES / "okta" / "users.csv")
    assert len(result.records) == 4
    assert result.user("00u2b3c4d5E6f7G8h9i0").disabled  # SUSPENDED
    assert result.user("00u2b3c4d5E6f7G8h9i0").phone == "+12125550142"
    assert any("STAGED" in f for f in result.unmapped.counts)


def test_okta_import_template_without_id_uses_login(read, tmp_path: Path) -> None:
    export = tmp_path / "okta.csv"
    export.write_text("login,firstName,lastName,email\njo@example.com,Jo,March,jo@example.com\n", encoding="utf-8")
    assert read("okta", export).user("jo@example.com").given_name == "Jo"


def test_b2c_graph_users_file(read) -> None:
    result = read("b2c", SAMPLES / "b2c" / "users.json")
    ada = result.user("4d8b3f6e-1c2a-4b5d-9e7f-0a1b2c3d4e5f")
    assert ada.email == "ada.lovelace@example.com" and ada.attributes == {"loyaltyTier": "gold", "loyaltyPoints": 1200}
    alan = result.user("6fad5b80-3e4c-4d7f-9a1b-2c3d4e5f6071")
    assert alan.username == "alan_t" and alan.disabled
    grace = result.user("5e9c4a7f-2d3b-4c6e-8f0a-1b2c3d4e5f60")
    assert grace.email is None and [i.provider for i in grace.identities] == ["google.com"]


def test_b2c_top_level_array_gzip(read, tmp_path: Path) -> None:
    export = tmp_path / "users.json.gz"
    users = [
        {
            "id": str(i),
            "displayName": f"U{i}",
            "identities": [{"signInType": "emailAddress", "issuer": "t", "issuerAssignedId": f"u{i}@example.com"}],
        }
        for i in range(3)
    ]
    export.write_bytes(gzip.compress(json.dumps(users).encode()))
    assert [r.user.email for r in read("b2c", export).records] == ["u0@example.com", "u1@example.com", "u2@example.com"]


def test_csv_through_a_profile(read) -> None:
    result = read("csv", SAMPLES / "csv" / "users.csv", SAMPLES / "csv" / "mapping.toml")
    ada = result.user("1001")
    assert (ada.email, ada.given_name, ada.surname, ada.phone) == (
        "ada.lovelace@example.com",
        "Ada",
        "Lovelace",
        "+442079460958",
    )
    assert ada.password.hash.algorithm == "sha256" and ada.password.hash.params == {
        "saltPosition": "suffix",
        "encoding": "hex",
    }
    assert ada.password.hash.salt.get_secret_value() == "s4lt1"
    assert ada.attributes == {"loyaltyTier": "gold", "newsletter": True}
    [bad] = result.rejects
    assert (bad.line, bad.legacy_id, bad.code) == (4, "1003", Reason.ATTRIBUTE_INVALID)
    assert "maybe" not in bad.message  # the value is never echoed


def test_csv_row_with_wrong_cell_count_is_rejected_and_reading_goes_on(read, tmp_path: Path) -> None:
    export = tmp_path / "users.csv"
    export.write_text(
        'legacyId,email\n1,a@example.com\n2,b@example.com,extra\n3,"multi\nline@example.com"\n4,d@example.com\n'
    )
    result = read("csv", export)
    assert [r.user.legacy_id for r in result.records] == ["1", "3", "4"]
    assert [(r.line, r.code) for r in result.rejects] == [(3, Reason.INVALID_RECORD)]
    assert result.records[2].line == 6
