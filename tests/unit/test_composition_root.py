"""One composition root: only shared/bootstrap.py reads the app settings from the environment (`Settings()`)
and builds the vaults and the JIT service from them; everything else is handed what it needs."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PRODUCT = ("shared", "functions", "cli", "emulator")
ROOT = REPO / "shared" / "bootstrap.py"
BUILDERS = re.compile(
    r"\bSettings\(\)|\bdef (open_azure_vault|open_local_vault|open_jit_service|get_settings|table_ledger)\b"
    r"|\b(TableLedger|TableCredentialVault|TableSyncStore|TableQuotaStore|ServiceBusQueue)\.from_"
)


def product_modules() -> list[Path]:
    files = [p for package in PRODUCT for p in (REPO / package).rglob("*.py")]
    return sorted([*files, REPO / "function_app.py"])


def test_only_the_bootstrap_reads_settings_and_builds_adapters_from_them() -> None:
    elsewhere = [
        f"{path.relative_to(REPO)}:{n}: {line.strip()}"
        for path in product_modules()
        if path != ROOT
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if BUILDERS.search(line)
    ]
    assert elsewhere == []


def test_the_bootstrap_is_where_they_are() -> None:
    text = ROOT.read_text(encoding="utf-8")
    for name in ("get_settings", "open_azure_vault", "open_local_vault", "open_jit_service", "table_ledger", "install"):
        assert f"def {name}(" in text
