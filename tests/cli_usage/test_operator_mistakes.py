"""The 26 operator mistakes of issue 15, as one table: each gives one line on stderr that names the
fix and exits with the code its command's `--help` documents (2 = usage error or unreadable input,
nothing written; 3 = a blocking Entra constraint). None exits 0, and none leaves a state directory
behind (a plan blocked by a constraint still writes its plan: the page shows the constraint).

The issue tried 26 mistakes (17 clear, 2 partly clear, 7 silent or unhelpful). Reconstructed from its
"Why" and "Scope", the table holds:

 1 `plan` a jsonl export with `--source auth0`        14 `--accept-constraint` a name that is not one
 2 `plan` an Auth0 export with `--source jsonl`        15 the Firebase profile's placeholder signer key
 3 `run` without `--source`                            16 the emulator on a taken port
 4 `run` an Auth0 export with `--source jsonl`         17 the emulator on a non-loopback host
 5 `run` an Okta CSV with `--source csv`               18 an unknown `--source`
 6 a mapping column typo (`email_adress`), `plan`      19 an export that does not exist
 7 the same typo, `run`                                20 an empty export
 8 a hash-algorithm typo (`sha265`)                    21 a CSV planned as jsonl
 9 300,001 users: over the default object quota        22 a mapping key that is not a field (`emial`)
10 `run` over a (trial) tenant's object quota          23 a mapping profile for another source
11 more than 100 custom attributes                     24 a mapping file that does not exist
12 `--chunk-size -5`                                   25 `status` where there is no state
13 `--chunk-size 0`                                    26 `run` a real tenant without --extensions-app-id

Tool defects the issue lists beside them, not operator mistakes, have tests of their own: `--version`
and the sample script below, readable `status` and honest rates in test_status_and_summary.py,
plan.html in tests/planning/test_plan_html_chromium.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
CSV = str(SAMPLES / "csv" / "users.csv")
MAPPING = ["--mapping", "{tmp}/m.toml"]
EXIT_USAGE, EXIT_CONSTRAINT = 2, 3
EMULATOR_URL = ["--graph-url", "http://127.0.0.1:9"]  # never reached: the refusals come first


@dataclass(frozen=True)
class Mistake:
    name: str
    args: list[str]
    fix: str  # what the one line must say
    code: int = EXIT_USAGE
    files: dict[str, str] = field(default_factory=dict)  # name -> content, written to tmp first
    writes_plan: bool = False  # a blocked plan still writes plan.json/plan.html: they show the constraint
    subprocess: bool = False  # run `python -m cli` for real (the emulator binds a socket; {port} is a taken one)


def _mapping(replace: tuple[str, str]) -> str:
    return (SAMPLES / "csv" / "mapping.toml").read_text().replace(*replace)


MISTAKES = [
    # Issue 15's silent or unhelpful ones, now clear.
    Mistake("plan-jsonl-as-auth0", ["plan", str(SAMPLES / "users.jsonl"), "--source", "auth0"], "pass --source jsonl"),
    Mistake("plan-auth0-as-jsonl", ["plan", str(SAMPLES / "auth0/users.ndjson"), "--source", "jsonl"],
            "pass --source auth0"),
    Mistake("run-without-source", ["run", str(SAMPLES / "auth0/users.ndjson")], "--source is required"),
    Mistake("run-auth0-as-jsonl", ["run", str(SAMPLES / "auth0/users.ndjson"), "--source", "jsonl"],
            "pass --source auth0"),
    Mistake("run-okta-as-csv", ["run", str(SAMPLES / "okta/users.csv"), "--source", "csv"], "pass --source okta"),
    Mistake("mapping-column-typo", ["plan", CSV, "--source", "csv", *MAPPING],
            "closest column: 'email_address'", files={"m.toml": _mapping(('"email_address"', '"email_adress"'))}),
    Mistake("run-mapping-column-typo",
            ["run", CSV, "--source", "csv", *MAPPING],
            "fields.email = 'email_adress' matches no column",
            files={"m.toml": _mapping(('"email_address"', '"email_adress"'))}),
    Mistake("hash-algorithm-typo", ["plan", CSV, "--source", "csv", *MAPPING],
            "unknown hash algorithm 'sha265'; known:", files={"m.toml": _mapping(('"sha256"', '"sha265"'))}),
    Mistake("chunk-size-negative", ["run", str(SAMPLES / "users.jsonl"), "--source", "jsonl", "--chunk-size", "-5"],
            "--chunk-size must be between 1 and 5000"),
    Mistake("chunk-size-zero", ["run", str(SAMPLES / "users.jsonl"), "--source", "jsonl", "--chunk-size", "0"],
            "--chunk-size must be between 1 and 5000"),
    # Issue 8: the firebase profile's placeholder signer key would put every user on a JIT path no password
    # verifies; `plan` warns, `run` refuses before writing anything.
    Mistake("firebase-placeholder-signer-key",
            ["run", str(SAMPLES / "firebase/users.json"), "--source", "firebase"],
            "hash.signer_key is the shipped placeholder"),
    # Blocking Entra constraints: exit 3 naming the constraint and --accept-constraint.
    Mistake("plan-over-object-quota", ["plan", "{big}", "--source", "jsonl"],
            "blocking constraint object-quota: 300,001 users", code=EXIT_CONSTRAINT, writes_plan=True),
    Mistake("run-over-trial-object-quota",
            ["run", str(SAMPLES / "users.jsonl"), "--source", "jsonl", "--object-quota", "10", *EMULATOR_URL],
            "pass --accept-constraint object-quota", code=EXIT_CONSTRAINT),
    Mistake("plan-over-100-custom-attributes", ["plan", "{tmp}/attrs.jsonl", "--source", "jsonl"],
            "blocking constraint custom-attributes", code=EXIT_CONSTRAINT, writes_plan=True,
            files={"attrs.jsonl": json.dumps({"legacyId": "a1", "email": "a1@example.com", "displayName": "A",
                                              "attributes": {f"a{i}": "x" for i in range(101)}}) + "\n"}),
    Mistake("accept-unknown-constraint",
            ["run", str(SAMPLES / "users.jsonl"), "--source", "jsonl", "--accept-constraint", "quota"],
            "not a blocking constraint; one of object-quota, custom-attributes"),
    # Already clear before issue 15; kept clear.
    Mistake("unknown-source", ["plan", str(SAMPLES / "users.jsonl"), "--source", "auth1"], "known: auth0, b2c"),
    Mistake("missing-export", ["plan", "{tmp}/nope.jsonl", "--source", "jsonl"], "cannot open"),
    Mistake("empty-export", ["plan", "{tmp}/empty.jsonl", "--source", "jsonl"], "the file is empty",
            files={"empty.jsonl": ""}),
    Mistake("csv-as-jsonl", ["plan", "{tmp}/users.csv", "--source", "jsonl"], "pass --source csv",
            files={"users.csv": "legacyId,email\nc1,c1@example.com\n"}),
    Mistake("unknown-mapping-key", ["plan", CSV, "--source", "csv", *MAPPING],
            "'emial' is not an interchange field", files={"m.toml": _mapping(("email = ", "emial = "))}),
    Mistake("mapping-for-another-source",
            ["plan", str(SAMPLES / "okta/users.csv"), "--source", "okta", "--mapping", "{tmp}/m.toml"],
            "the profile is for 'firebase'", files={"m.toml": 'source = "firebase"\n'}),
    Mistake("mapping-file-missing", ["plan", CSV, "--source", "csv", "--mapping", "{tmp}/nope.toml"],
            "cannot read the mapping profile"),
    Mistake("status-without-state", ["status", "--state", "{tmp}/nothing-here"], "no migration state here"),
    Mistake("emulator-taken-port", ["emulator", "--port", "{port}"], "--port", subprocess=True),
    Mistake("emulator-non-loopback", ["emulator", "--host", "0.0.0.0", "--port", "0"], "loopback"),
    Mistake("real-tenant-without-extensions-app-id",
            ["run", str(SAMPLES / "users.jsonl"), "--source", "jsonl", "--graph-url", "https://graph.microsoft.com"],
            "pass the appId of the tenant's b2c-extensions-app"),
]  # fmt: skip


def test_the_table_is_the_issues_26_mistakes_and_each_code_is_documented() -> None:
    assert len(MISTAKES) == 26 and len({m.name for m in MISTAKES}) == 26
    for mistake in MISTAKES:
        assert mistake.code != 0, f"{mistake.name}: a mistake must not exit 0"
        command = mistake.args[0]
        helped = CliRunner().invoke(app, [command, "--help"], terminal_width=200)
        documented = " ".join(helped.stdout.split())
        codes = re.search(r"Exit codes: (.*?)(?:╭|$)", documented)
        assert codes, f"`{command} --help` documents no exit codes"
        assert re.search(rf"(?:^|; ){mistake.code} ", codes.group(1)), (mistake.name, codes.group(1))


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def _invoke(mistake: Mistake, args: list[str], cwd: Path) -> tuple[int, str, str]:
    if mistake.subprocess:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's cli, though cwd is the scratch dir
        done = subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True, timeout=60,
                              cwd=cwd, env=env)  # fmt: skip
        return done.returncode, done.stdout, done.stderr
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def over_quota_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300,001 valid users: one over the default tenant object quota (entra_limits.OBJECT_QUOTA)."""
    path = tmp_path_factory.mktemp("big") / "users.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for i in range(300_001):
            out.write(f'{{"legacyId": "u{i}", "email": "u{i}@example.com", "displayName": "U {i}"}}\n')
    return path


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.name for m in MISTAKES])
def test_mistake_gets_one_line_naming_the_fix(
    mistake: Mistake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    monkeypatch.chdir(tmp_path)  # a default ./migration or ./plan would land here, and is checked below
    for name, content in mistake.files.items():
        (tmp_path / name).write_text(content, encoding="utf-8")
    big = str(request.getfixturevalue("over_quota_export")) if "{big}" in mistake.args else ""
    port = str(request.getfixturevalue("taken_port")) if "{port}" in mistake.args else ""
    args = [a.replace("{tmp}", str(tmp_path)).replace("{big}", big).replace("{port}", port) for a in mistake.args]
    code, stdout, stderr = _invoke(mistake, args, tmp_path)
    lines = stderr.strip().splitlines()
    assert code == mistake.code, (code, stdout, stderr)
    assert len(lines) == 1, stderr
    assert mistake.fix in lines[0] and lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in stderr + stdout
    assert not (tmp_path / "migration").exists(), "a refused run must write no state"
    assert (tmp_path / "plan" / "plan.html").exists() == mistake.writes_plan, "only a blocked plan writes its plan"


def test_version_prints_the_package_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip().startswith("ciam-migrate ") and result.stdout.strip()[-1].isdigit()


def test_sample_script_help_writes_nothing_and_a_run_is_deterministic(tmp_path: Path) -> None:
    sample = SAMPLES / "users.jsonl"
    before = hashlib.sha256(sample.read_bytes()).hexdigest()
    script = str(ROOT / "scripts" / "make_sample_users.py")
    helped = subprocess.run([sys.executable, script, "--help"], capture_output=True, text=True, timeout=60)
    assert helped.returncode == 0 and "--out" in helped.stdout
    assert hashlib.sha256(sample.read_bytes()).hexdigest() == before
    out = tmp_path / "again.jsonl"
    made = subprocess.run([sys.executable, script, "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    assert out.read_bytes() == sample.read_bytes(), "the docstring promises a deterministic sample"
