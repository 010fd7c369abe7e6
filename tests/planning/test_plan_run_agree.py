"""`ciam-migrate plan` calls valid exactly the records the run's plan stage admits, line by line.

Property-based (hypothesis): random exports drawn from small pools, so that legacy ids, emails,
usernames and federated ids repeat, in other cases too, on records that are otherwise valid or
rejected for another reason (a rejected record must leave its sign-in names free). Each export is
written in every source format that can express those fields, then planned twice: by
shared.planning.plan_export (what `plan` prints) and by the plan stage handler (what `run` does),
through in-memory ports. The verdict per line — valid, or rejected with which code — must match.

What each source can express (the rest of a drawn user is left out of that format):
* jsonl, auth0, keycloak, b2c, cognito (ListUsers JSON): legacy id, email, username, federated id.
* cognito (import CSV): legacy id, email, username — the import header has no linked-IdP column.
* csv, okta: legacy id, email, username — a CSV row carries no federated identity.
* firebase: legacy id, email, federated id — Firebase accounts have no username.
Passwords (none, a plaintext strong or too weak for Entra, a bcrypt hash, an unsupported md5-crypt
or a malformed bcrypt hash) are written where the format carries them — jsonl, auth0 (passwordHash)
and csv (password / passwordHash columns) — and each example draws the profile's password.mode, so an
unsupported hash is rejected (jit, plaintext) or sent to reset (auto, reset) the same way by both;
the users sent to reset instead of rejected are counted the same way by both too.
Email case variants reach the admission rule only where the default profile keeps case (jsonl,
auth0, csv); keycloak, b2c, cognito and okta lowercase emails while reading, so there the variants
are exact repeats. Cognito and Okta turn username sign-in off by default; the test turns it on.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.config import Settings
from shared.handlers.plan_export import plan_export as plan_stage
from shared.handlers.workflow import Workflow
from shared.messages import ImportChunk, PlanExport
from shared.outcomes import RunState
from shared.planning import plan_export
from shared.planning.inventory import MAX_EXAMPLES, Inventory
from shared.ports import ChunkEntry
from shared.profiles import load_profile
from shared.sources.hashes import from_crypt_string

TENANT = "contoso.onmicrosoft.com"
EXTENSIONS_APP = "00000000-0000-0000-0000-0000000000e1"

# Small pools: repeats are the point. Case variants of the same name must clash too.
LEGACY_IDS = [f"id{i}" for i in range(30)] + ["ID0"]  # ids are case-sensitive: ID0 is not id0
EMAILS = ["ann@example.com", "Ann@Example.com", "bob@example.com", "cy@example.com", "not-an-email", None]
USERNAMES = ["ann", "ANN", "bob", "cy_1", "bad name!", None]
SUBJECTS = [("google.com", "g-1"), ("google.com", "G-1"), ("facebook.com", "f-1"), None]

BCRYPT = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
# (kind, value): kind "plain" is a plaintext password, "crypt" a self-describing hash string.
PASSWORDS = [None, ("plain", "Str0ng!Passw0rd"), ("plain", "weak"), ("crypt", BCRYPT),
             ("crypt", "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/"), ("crypt", "$2b$10$short")]  # fmt: skip
MODES = ["auto", "jit", "reset", "plaintext"]

user_strategy = st.fixed_dictionaries(
    {
        "legacy_id": st.sampled_from(LEGACY_IDS),
        "email": st.sampled_from(EMAILS),
        "username": st.sampled_from(USERNAMES),
        "federated": st.sampled_from(SUBJECTS),
        "password": st.sampled_from(PASSWORDS),
    }
)
exports = st.lists(user_strategy, min_size=1, max_size=MAX_EXAMPLES - 10)


def _named(u: dict[str, Any], id_key: str, **more: Any) -> dict[str, Any]:
    """The user's id under `id_key`, with its email and username when it has them."""
    record: dict[str, Any] = {id_key: u["legacy_id"], **more}
    for name in ("email", "username"):
        if u[name]:
            record[name] = u[name]
    return record


def _jsonl(users: list[dict[str, Any]]) -> str:
    lines = []
    for u in users:
        record = _named(u, "legacyId")
        if u["federated"]:
            record["identities"] = [{"provider": u["federated"][0], "subject": u["federated"][1]}]
        if u.get("password"):
            kind, value = u["password"]
            record["password"] = {"plaintext": value} if kind == "plain" else {"hash": from_crypt_string(value)}
        lines.append(json.dumps(record))
    return "\n".join(lines) + "\n"


def _auth0(users: list[dict[str, Any]]) -> str:
    providers = {"google.com": "google-oauth2", "facebook.com": "facebook"}
    lines = []
    for u in users:
        record = _named(u, "user_id")
        if u["federated"]:
            provider, subject = u["federated"]
            record["identities"] = [{"provider": providers[provider], "user_id": subject, "isSocial": True}]
        if u.get("password") and u["password"][0] == "crypt":  # an Auth0 export carries hashes, never plaintext
            record["passwordHash"] = u["password"][1]
        lines.append(json.dumps(record))
    return "\n".join(lines) + "\n"


def _firebase(users: list[dict[str, Any]]) -> str:
    records = []
    for u in users:
        record: dict[str, Any] = {"localId": u["legacy_id"]}
        if u["email"]:
            record["email"] = u["email"]
        if u["federated"]:
            record["providerUserInfo"] = [{"providerId": u["federated"][0], "rawId": u["federated"][1]}]
        records.append(record)
    return json.dumps({"users": records}, indent=1)


def _csv_text(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _csv(users: list[dict[str, Any]]) -> str:
    rows = []
    for u in users:
        kind, value = u.get("password") or ("", "")
        rows.append([u["legacy_id"], u["email"] or "", u["username"] or "", value if kind == "plain" else "",
                     value if kind == "crypt" else ""])  # fmt: skip
    return _csv_text(["legacyId", "email", "username", "password", "passwordHash"], rows)


KEYCLOAK_PROVIDERS = {"google.com": "google", "facebook.com": "facebook"}  # the default profile maps them back
COGNITO_PROVIDERS = {"google.com": "Google", "facebook.com": "Facebook"}


def _keycloak(users: list[dict[str, Any]]) -> str:
    records = []
    for u in users:
        record = _named(u, "id", enabled=True)
        if u["federated"]:
            provider, subject = u["federated"]
            record["federatedIdentities"] = [
                {"identityProvider": KEYCLOAK_PROVIDERS[provider], "userId": subject, "userName": subject}
            ]
        records.append(record)
    return json.dumps({"realm": "shop", "users": records}, indent=1)


def _b2c(users: list[dict[str, Any]]) -> str:
    records = []
    for u in users:
        identities = []
        if u["email"]:
            identities.append({"signInType": "emailAddress", "issuer": TENANT, "issuerAssignedId": u["email"]})
        if u["username"]:
            identities.append({"signInType": "userName", "issuer": TENANT, "issuerAssignedId": u["username"]})
        if u["federated"]:
            provider, subject = u["federated"]
            identities.append({"signInType": "federated", "issuer": provider, "issuerAssignedId": subject})
        records.append({"id": u["legacy_id"], "accountEnabled": True, "identities": identities})
    return json.dumps({"value": records}, indent=1)


def _cognito(users: list[dict[str, Any]]) -> str:
    records = []
    for u in users:
        attributes = [{"Name": "sub", "Value": u["legacy_id"]}]
        if u["email"]:
            attributes.append({"Name": "email", "Value": u["email"]})
        if u["federated"]:
            provider, subject = u["federated"]
            links = [{"providerName": COGNITO_PROVIDERS[provider], "userId": subject, "providerType": provider}]
            attributes.append({"Name": "identities", "Value": json.dumps(links)})
        record: dict[str, Any] = {"Attributes": attributes, "Enabled": True, "UserStatus": "CONFIRMED"}
        if u["username"]:
            record["Username"] = u["username"]
        records.append(record)
    return json.dumps({"Users": records}, indent=1)


def _cognito_csv(users: list[dict[str, Any]]) -> str:
    rows = [[u["username"] or "", u["legacy_id"], u["email"] or ""] for u in users]
    return _csv_text(["cognito:username", "sub", "email"], rows)


def _okta(users: list[dict[str, Any]]) -> str:
    rows = [[u["legacy_id"], u["username"] or "", u["email"] or "", "ACTIVE"] for u in users]
    return _csv_text(["id", "login", "email", "status"], rows)


# (source, writer): every format the sources read that can carry the drawn fields.
FORMATS = [
    ("jsonl", _jsonl),
    ("auth0", _auth0),
    ("firebase", _firebase),
    ("csv", _csv),
    ("keycloak", _keycloak),
    ("b2c", _b2c),
    ("cognito", _cognito),
    ("cognito", _cognito_csv),
    ("okta", _okta),
]
FEDERATED_ON = "[identities]\nfederated = true\nusername = true\n"


class _Ledger:
    def __init__(self) -> None:
        self.runs: dict[str, RunState] = {}

    async def get_run(self, run_id: str) -> RunState | None:
        return self.runs.get(run_id)

    async def save_run(self, run: RunState) -> None:
        self.runs[run.run_id] = run


class _Chunks:
    def __init__(self) -> None:
        self.chunks: dict[str, list[ChunkEntry]] = {}

    async def put(self, run_id: str, chunk_id: str, entries: list[ChunkEntry]) -> None:
        self.chunks[chunk_id] = list(entries)  # a re-put replaces the chunk, as the stores do


class _Exports:
    def __init__(self) -> None:
        self.opened = 0

    @asynccontextmanager
    async def open_local(self, export_ref: str) -> AsyncIterator[Path]:
        self.opened += 1
        yield Path(export_ref)


class _Artifacts:
    def __init__(self) -> None:
        self.files: dict[str, str] = {}

    async def write_text(self, run_id: str, name: str, text: str) -> None:
        self.files[name] = text


class _Directory:
    async def ensure_extension_properties(self, names: Any) -> None:
        return None


class _Clock:
    def now(self) -> datetime:
        return datetime(2026, 1, 1, tzinfo=UTC)


class _Telemetry:
    def count(self, name: str, value: int = 1, **attributes: Any) -> None:
        return None


def run_verdicts(source: str, export: Path, mapping: Path) -> dict[int, str]:
    """line → "valid" or the reject code, as the run's plan stage decides."""
    return run_plan(source, export, mapping)[0]


def run_plan(source: str, export: Path, mapping: Path) -> tuple[dict[int, str], RunState]:
    """run_verdicts, and the run as the plan stage saved it."""
    verdicts, run, _ = run_plan_reads(source, export, mapping)
    return verdicts, run


def run_plan_reads(
    source: str, export: Path, mapping: Path, chunk_size: int = 500
) -> tuple[dict[int, str], RunState, int]:
    """run_plan, and how many times the stage opened the export."""
    from shared.ports import Ports

    chunks, artifacts, ledger, exports = _Chunks(), _Artifacts(), _Ledger(), _Exports()
    ports = Ports(
        queue=None,  # type: ignore[arg-type]  # the handler returns messages, it sends none
        ledger=ledger,  # type: ignore[arg-type]
        chunks=chunks,  # type: ignore[arg-type]
        exports=exports,  # type: ignore[arg-type]
        artifacts=artifacts,  # type: ignore[arg-type]
        directory=_Directory(),  # type: ignore[arg-type]
        clock=_Clock(),
        telemetry=_Telemetry(),  # type: ignore[arg-type]
    )
    command = PlanExport(
        run_id="r1", source=source, export_ref=str(export), mapping_ref=str(mapping), chunk_size=chunk_size
    )
    workflow = Workflow.from_settings(Settings(TENANT=TENANT, EXTENSIONS_APP_ID=EXTENSIONS_APP), apps=1)
    follow = asyncio.run(plan_stage(command, ports, workflow))
    named = [e.payload.chunk_id for e in follow if isinstance(e.payload, ImportChunk)]  # what the run imports
    verdicts = {entry.line: "valid" for chunk_id in named for entry in chunks.chunks[chunk_id]}
    for raw in artifacts.files["rejects.jsonl"].splitlines():
        reject = json.loads(raw)
        assert reject["line"] not in verdicts, reject  # a line is in one chunk or in rejects.jsonl
        verdicts[reject["line"]] = reject["code"]
    return verdicts, ledger.runs["r1"], exports.opened


def plan_verdicts(source: str, export: Path, mapping: Path, lines: list[int]) -> dict[int, str]:
    return plan_once(source, export, mapping, lines)[0]


def plan_once(source: str, export: Path, mapping: Path, lines: list[int]) -> tuple[dict[int, str], Inventory]:
    """plan_verdicts, and the inventory `plan` reports."""
    result = plan_export(export, load_profile(source, mapping), tenant=TENANT)
    assert result.inventory.rejected <= MAX_EXAMPLES  # every reject is listed
    verdicts = {line: "valid" for line in lines}
    for reject in result.inventory.rejects:
        verdicts[reject["line"]] = reject["reason"]
    return verdicts, result.inventory


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(users=exports, mode=st.sampled_from(MODES))
def test_plan_calls_valid_exactly_what_the_run_admits(users: list[dict[str, Any]], mode: str, tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(FEDERATED_ON + f'[password]\nmode = "{mode}"\n')
    for source, write in FORMATS:
        export = tmp_path / f"export-{source}{write.__name__}"
        export.write_text(write(users))
        run, state = run_plan(source, export, mapping)
        plan, inventory = plan_once(source, export, mapping, sorted(run))
        assert len(run) == len(users), source
        assert plan == run, source
        assert dict(inventory.reset_fallbacks) == state.reset_fallbacks, source


def test_a_rejected_user_leaves_its_email_free_for_a_later_one(tmp_path: Path) -> None:
    """The worked example: user 2 holds email e2 and user 1's username; user 3 has email e2."""
    users = [
        {"legacy_id": "1", "email": "e1@example.com", "username": "taken", "federated": None},
        {"legacy_id": "2", "email": "e2@example.com", "username": "taken", "federated": None},
        {"legacy_id": "3", "email": "e2@example.com", "username": None, "federated": None},
    ]
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(FEDERATED_ON)
    for source, write in FORMATS:
        export = tmp_path / f"export-{source}{write.__name__}"
        export.write_text(write(users))
        run = run_verdicts(source, export, mapping)
        assert plan_verdicts(source, export, mapping, sorted(run)) == run, source
        if source != "firebase":  # firebase exports carry no username
            assert [run[line] for line in sorted(run)] == ["valid", "duplicate_identity", "valid"], source


def test_an_unsupported_hash_resets_under_auto_and_reset_and_is_rejected_under_jit(tmp_path: Path) -> None:
    """md5-crypt and a malformed bcrypt can't be verified at sign-in: auto and reset create the user on the
    reset path (counted as a fallback under auto), jit and plaintext reject it; plan and run agree."""
    users = [
        {"legacy_id": "1", "email": "a@example.com", "username": None, "federated": None,
         "password": ("crypt", "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/")},
        {"legacy_id": "2", "email": "b@example.com", "username": None, "federated": None,
         "password": ("crypt", "$2b$10$short")},
        {"legacy_id": "3", "email": "c@example.com", "username": None, "federated": None,
         "password": ("crypt", BCRYPT)},
    ]  # fmt: skip
    expected = {
        "auto": (["valid", "valid", "valid"], {"unsupported_hash_algorithm": 2}, {"reset": 2, "jit": 1}),
        "reset": (["valid", "valid", "valid"], {}, {"reset": 3}),
        "jit": (["unsupported_hash_algorithm", "unsupported_hash_algorithm", "valid"], {}, {"jit": 1}),
        "plaintext": (["unsupported_hash_algorithm", "unsupported_hash_algorithm", "missing_field"], {}, {}),
    }
    for mode, (verdicts, fallbacks, paths) in expected.items():
        mapping = tmp_path / f"mapping-{mode}.toml"
        mapping.write_text(f'[password]\nmode = "{mode}"\n')
        for source, write in [("jsonl", _jsonl), ("auth0", _auth0), ("csv", _csv)]:
            export = tmp_path / f"export-{mode}-{source}"
            export.write_text(write(users))
            run, state = run_plan(source, export, mapping)
            plan, inventory = plan_once(source, export, mapping, sorted(run))
            assert [run[line] for line in sorted(run)] == verdicts, (mode, source)
            assert plan == run, (mode, source)
            assert dict(inventory.reset_fallbacks) == state.reset_fallbacks == fallbacks, (mode, source)
            assert dict(inventory.password_paths) == paths, (mode, source)
