"""docs/guarantees.md R23 for the import path: canary passwords, hashes and salts go through every success and failure
path of `ciam-migrate run` and are never present anywhere they could be read. Figure: canary hits 0.

The export holds canary plaintexts Entra accepts (→ sent to Graph as the password), plaintexts Entra refuses
(too weak, non-ASCII → JIT: a derived hash in the vault), bcrypt and PBKDF2 hashes with canary salts (→ vault),
and records that are rejected while carrying canaries (invalid email, unsupported or malformed hash, a password
with both plaintext and hash, a wrong type, an unknown field, broken JSON, a repeated legacyId). The CLI runs with
--log-level DEBUG against an emulator injecting 5xx, 504-after-commit, read-after-write lag and dropped
connections, with one attempt per chunk so that users also end as `failed`.

Scanned, as raw bytes: CLI stdout and stderr, and every file under the state directory (reports, rejects,
failures, id-map, sealed chunks, migration.db and its -wal, vault.db), plus the tenant's own saved state, where
only the plaintexts Entra accepted may appear. Positive controls prove the scanner and the canaries work: every
canary is found in the export file, each canary user took the password path claimed (the tenant's toBeMigrated
flag), and the vault opens to credentials that verify against the canary passwords.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

import bcrypt

from shared.bootstrap import open_local_vault
from shared.passwords import verify
from tests.e2e.conftest import LEGACY_ID_ATTR, cli_env, read_id_map, read_report, run_args, run_dir

SEED = 23
FLAG_ATTR = LEGACY_ID_ATTR.replace("_legacyId", "_toBeMigrated")
TIME_SCALE = 50
FAULTS = {"500": 0.12, "503": 0.12, "504": 0.06, "504-after-commit": 0.1, "lag": 0.3, "drop": 0.1}


@dataclass
class Canaries:
    rng: random.Random
    secrets: dict[str, bytes] = field(default_factory=dict)  # name → raw bytes that must never be readable
    tenant_ok: set[str] = field(default_factory=set)  # names Entra legitimately holds (accepted plaintexts)

    def token(self) -> str:
        return f"CNRY{self.rng.getrandbits(64):016x}"

    def add(self, name: str, value: str | bytes, *, tenant_ok: bool = False) -> str | bytes:
        self.secrets[name] = value.encode() if isinstance(value, str) else value
        if tenant_ok:
            self.tenant_ok.add(name)
        return value

    def forms(self, name: str) -> list[bytes]:
        raw = self.secrets[name]
        found = [raw]
        try:
            escaped = json.dumps(raw.decode())[1:-1].encode()  # how a JSON writer would spell a non-ASCII one
            if escaped != raw:
                found.append(escaped)
        except UnicodeDecodeError:
            pass
        return found

    def hits(self, blob: bytes, names: set[str] | None = None) -> list[str]:
        return sorted(n for n in (names or self.secrets) if any(f in blob for f in self.forms(n)))


@dataclass
class Expected:
    valid_jit: dict[str, str] = field(default_factory=dict)  # legacyId → the password its vaulted hash verifies
    exported_hash: dict[str, str] = field(default_factory=dict)  # legacyId → exported hash value
    rejected: int = 0
    reset: int = 0  # created on the reset path instead of rejected (their hash can't be verified)
    total: int = 0


def build_export(path: Path, canaries: Canaries) -> Expected:
    expected = Expected()
    lines: list[str] = []

    def user(legacy_id: str, **fields: object) -> dict[str, object]:
        return {"legacyId": legacy_id, "email": f"{legacy_id.lower()}@example.com", "givenName": "Can", **fields}

    for i in range(8):  # Entra takes these as they are: they may appear in the tenant only
        pw = canaries.add(f"strong-plain-{i}", f"Cn4ry-Strong-{canaries.token()}!", tenant_ok=True)
        lines.append(json.dumps(user(f"s{i:02d}", password={"plaintext": pw})))
    for i in range(8):  # too weak for Entra → JIT with a derived hash
        pw = str(canaries.add(f"weak-plain-{i}", canaries.token().lower()))
        lines.append(json.dumps(user(f"w{i:02d}", password={"plaintext": pw})))
        expected.valid_jit[f"w{i:02d}"] = pw
    for i in range(4):  # non-ASCII: Entra refuses → JIT
        pw = str(canaries.add(f"unicode-plain-{i}", f"Cänary-Ünï-{canaries.token()}-9!"))
        lines.append(json.dumps(user(f"u{i:02d}", password={"plaintext": pw}), ensure_ascii=i % 2 == 0))
        expected.valid_jit[f"u{i:02d}"] = pw
    for i in range(10):  # PBKDF2 with canary salt and digest
        pw = f"pbkdf2-pw-{canaries.token()}"
        salt = f"CNRYSALT{canaries.token()}".encode()
        digest = hashlib.pbkdf2_hmac("sha256", pw.encode(), salt, 1000)
        canaries.add(f"pbkdf2-salt-raw-{i}", salt)
        canaries.add(f"pbkdf2-digest-raw-{i}", digest)
        value = str(canaries.add(f"pbkdf2-value-{i}", base64.b64encode(digest).decode()))
        salt_b64 = str(canaries.add(f"pbkdf2-salt-{i}", base64.b64encode(salt).decode()))
        h = {"algorithm": "pbkdf2-sha256", "value": value, "salt": salt_b64, "params": {"iterations": 1000}}
        lines.append(json.dumps(user(f"p{i:02d}", password={"hash": h})))
        expected.valid_jit[f"p{i:02d}"] = pw
        expected.exported_hash[f"p{i:02d}"] = value
    for i in range(10):  # bcrypt (cost 4: cheap) — the whole string, its salt and its digest are canaries
        pw = f"bcrypt-pw-{canaries.token()}"
        value = bcrypt.hashpw(pw.encode(), bcrypt.gensalt(4)).decode()
        canaries.add(f"bcrypt-{i}", value)
        canaries.add(f"bcrypt-salt-{i}", value[7:29])
        canaries.add(f"bcrypt-digest-{i}", value[29:])
        lines.append(json.dumps(user(f"b{i:02d}", password={"hash": {"algorithm": "bcrypt", "value": value}})))
        expected.valid_jit[f"b{i:02d}"] = pw
        expected.exported_hash[f"b{i:02d}"] = value
    # Hashes nobody can verify: under password.mode auto the users are created on the reset path (a random
    # password), so the hash goes nowhere — not to Graph, the vault, a chunk's clear text or a report.
    bad_hash = str(canaries.add("reset-hash-unsupported", base64.b64encode(canaries.token().encode()).decode()))
    lines.append(json.dumps(user("r02", password={"hash": {"algorithm": "whirlpool", "value": bad_hash}})))
    no_salt = str(canaries.add("reset-hash-no-salt", base64.b64encode(canaries.token().encode()).decode()))
    lines.append(json.dumps(user("r03", password={"hash": {"algorithm": "pbkdf2-sha256", "value": no_salt}})))
    expected.reset = 2
    valid = len(lines)

    # Rejected records, each still carrying canaries.
    bad_pw = str(canaries.add("rejected-plain-email", f"Cn4ry-Rejected-{canaries.token()}!"))
    lines.append(json.dumps({**user("r01", password={"plaintext": bad_pw}), "email": "not-an-email"}))
    both_pw = str(canaries.add("rejected-both-plain", f"Cn4ry-Both-{canaries.token()}!"))
    both_hash = str(canaries.add("rejected-both-hash", canaries.token()))
    lines.append(
        json.dumps(user("r04", password={"plaintext": both_pw, "hash": {"algorithm": "md5", "value": both_hash}}))
    )
    wrong_type = str(canaries.add("rejected-wrong-type", f"Cn4ry-List-{canaries.token()}!"))
    lines.append(json.dumps(user("r05", password={"plaintext": [wrong_type]})))
    extra = str(canaries.add("rejected-unknown-field", f"Cn4ry-Extra-{canaries.token()}!"))
    lines.append(json.dumps({**user("r06", password={"plaintext": extra}), "pwd": extra}))
    broken = str(canaries.add("rejected-broken-json", f"Cn4ry-Broken-{canaries.token()}!"))
    lines.append(json.dumps(user("r07", password={"plaintext": broken}))[:-2])  # cut: not JSON any more
    dup = str(canaries.add("rejected-duplicate", f"Cn4ry-Dup-{canaries.token()}!"))
    lines.append(json.dumps({**user("s00", password={"plaintext": dup}), "email": "dup@example.com"}))
    expected.rejected = len(lines) - valid
    expected.total = len(lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return expected


async def test_r23_canaries_through_import_success_and_failure_paths_hits_0(tmp_path, emulator_process, cli):
    canaries = Canaries(random.Random(SEED))
    export = tmp_path / "export.jsonl"
    expected = build_export(export, canaries)
    # Positive control: the scanner finds every canary that is spelled out in the export.
    spelled_out = {n for n in canaries.secrets if "-raw-" not in n}
    assert set(canaries.hits(export.read_bytes(), spelled_out)) == spelled_out

    tenant_file = tmp_path / "tenant.json"  # outside the state dir: the tenant's copy, scanned separately
    faults = ",".join(f"{k}={v}" for k, v in FAULTS.items())
    emulator = emulator_process(time_scale=TIME_SCALE, faults=faults, seed=SEED, state=tenant_file)
    state = tmp_path / "state"
    args = ["--log-level", "DEBUG", *run_args(export, emulator, state, time_scale=TIME_SCALE, chunk_size=10)]
    env = cli_env(MAX_ATTEMPTS="1", INLINE_RETRY_BUDGET_S="0.5")
    result = cli.run(args, env=env, timeout=180)
    assert result.returncode in (0, 1), f"exit {result.returncode}: {result.stderr[-3000:]}"

    report = read_report(state)
    c = report["counts"]
    assert c["total"] == expected.total and c["rejected"] == expected.rejected, c
    assert c["total"] == c["created"] + c["already_present"] + c["rejected"] + c["failed"], c
    assert sum(report.get("reset_fallbacks", {}).values()) == expected.reset, report.get("reset_fallbacks")
    # The failure and retry paths really ran (else this is a happy-path scan only).
    assert c["failed"] > 0 and result.returncode == 1, f"no user failed: {c}"
    injected = emulator.stats()["faults"]["injected"]
    assert {"500", "503"} <= set(injected), injected  # (drop and lag are drawn too; not every seed hits them)
    assert "DEBUG" in result.stderr, "DEBUG logging did not run"

    hits: dict[str, list[str]] = {}
    for name, blob in (("stdout", result.stdout.encode()), ("stderr", result.stderr.encode())):
        if found := canaries.hits(blob):
            hits[name] = found
    files = sorted(p for p in state.rglob("*") if p.is_file())
    assert {"migration.db", "vault.db", "report.json", "rejects.jsonl", "failures.jsonl", "id-map.csv"} <= {
        p.name for p in files
    }, [p.name for p in files]
    assert any(p.parent.name == "chunks" for p in files), "no chunk files to scan"
    for path in files:
        if found := canaries.hits(path.read_bytes()):
            hits[str(path.relative_to(state))] = found
    emulator.save_state()
    tenant_hits = canaries.hits(tenant_file.read_bytes(), set(canaries.secrets) - canaries.tenant_ok)
    if tenant_hits:
        hits["tenant (Graph was sent a hash or a refused plaintext)"] = tenant_hits
    assert not hits, f"canary hits {sum(map(len, hits.values()))} (R23 figure: 0): {hits}"
    # Each canary took the path the test claims: accepted plaintexts were set in Entra (toBeMigrated false; the
    # emulator validates the password and does not store it), everything else goes through JIT (true).
    saved = json.loads(tenant_file.read_text())["users"]
    flags = {u.get(LEGACY_ID_ATTR): u.get(FLAG_ATTR) for u in (saved.values() if isinstance(saved, dict) else saved)}
    assert {lid: f for lid, f in flags.items() if lid.startswith("s")} and all(
        f is False for lid, f in flags.items() if lid.startswith("s")
    ), flags
    assert all(f is True for lid, f in flags.items() if lid in expected.valid_jit), flags

    # The vault holds the hashes, encrypted, under the Entra object id; they open and verify.
    rejects = (run_dir(state) / "rejects.jsonl").read_text().splitlines()
    assert len(rejects) == expected.rejected and all(json.loads(r)["code"] for r in rejects)
    created = {r["legacyId"]: r["objectId"] for r in read_id_map(state) if r["outcome"] == "created"}
    vaulted = 0
    vault = open_local_vault(str(state))
    try:
        for prefix in ("b", "p", "w", "u"):  # bcrypt, pbkdf2, weak plaintext, non-ASCII plaintext
            ids = sorted(i for i in expected.valid_jit if i.startswith(prefix) and i in created)
            assert ids, f"no {prefix}* user was created: nothing to check in the vault"
            for legacy_id in ids:
                credential = await vault.load(created[legacy_id])
                assert credential is not None, f"{legacy_id} was created but its credential is not in the vault"
                vaulted += 1
                assert credential.legacy_id == legacy_id
                if legacy_id in expected.exported_hash:
                    assert credential.password_hash.value.get_secret_value() == expected.exported_hash[legacy_id]
                assert verify(expected.valid_jit[legacy_id], credential.password_hash), legacy_id
    finally:
        vault.close()
    assert vaulted > 0, "no credential in the vault for any created JIT user"
