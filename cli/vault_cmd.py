"""`ciam-migrate vault status|rotate|rewrap`: the JIT credential vault's key-encryption key (KEK).

status   rows per KEK; which KEK is current; a retired KEK with 0 rows may be deleted.
rotate   local (`--state DIR`): retire keys/kek.key into keys/kek-retired/, write a new one, then rewrap.
rewrap   wrap every row's data key with the current KEK; ciphertexts are not touched. Local, or `--azure`: the
         Table vault from the app settings (after `az keyvault key rotate` and a new KEY_VAULT_KEY_ID, or a new
         VAULT_KEK with the old one in VAULT_KEK_RETIRED). Re-runnable; safe beside running imports.
Exit codes: 0 done; 1 some rows did not unwrap (their KEK is gone: they stay as they are); 2 cannot start.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any

import typer
from azure.core.exceptions import AzureError
from rich.console import Console

from shared.adapters.local.db import StateUnavailable
from shared.adapters.local.files import StateInUse, state_lock
from shared.bootstrap import azure_vault_from_environment, open_local_vault
from shared.vault import Rewrap, SqliteCredentialVault, TableCredentialVault, rotate_key_file
from shared.vault.wrappers import KeyUnwrapFailed, retired_key_file

EXIT_OK, EXIT_INCOMPLETE, EXIT_USAGE = 0, 1, 2
KEK_FILE = Path("keys") / "kek.key"

out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)

StateOption = Annotated[Path | None, typer.Option("--state", help="Local state directory (vault.db, keys/)")]
AzureOption = Annotated[bool, typer.Option("--azure", help="The Table vault named by the app settings (env)")]


def register(app: typer.Typer) -> None:
    vault = typer.Typer(help="The JIT credential vault's key-encryption key: status, rotate, rewrap.",
                        no_args_is_help=True)  # fmt: skip
    vault.command("status")(status)
    vault.command("rotate")(rotate)
    vault.command("rewrap")(rewrap)
    app.add_typer(vault, name="vault")


def status(state: StateOption = None, azure: AzureOption = False) -> None:
    """Rows per key-encryption key, and whether each retired key may be deleted."""
    _run(_status(state, azure))


def rotate(state: Annotated[Path, typer.Option("--state", help="Local state directory (vault.db, keys/)")]) -> None:
    """Local vault: a new KEK in keys/kek.key (the old one kept in keys/kek-retired/), then every row rewrapped."""
    _run(_rotate(state))


def rewrap(state: StateOption = None, azure: AzureOption = False) -> None:
    """Wrap every row's data key with the current KEK (re-run it after a crash; rows already current are skipped)."""
    _run(_rewrap(state, azure))


def _run(work: Coroutine[Any, Any, int]) -> None:
    try:
        code = asyncio.run(work)
    except (ValueError, StateInUse, StateUnavailable, KeyUnwrapFailed, OSError) as exc:
        err.print(f"vault: {exc}")
        raise typer.Exit(EXIT_USAGE) from None
    except AzureError as exc:  # Key Vault or Storage refused: the service's reason, first line only
        err.print(f"vault: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'no detail'}")
        raise typer.Exit(EXIT_USAGE) from None
    raise typer.Exit(code)


def _open(state: Path | None, azure: bool) -> SqliteCredentialVault | TableCredentialVault:
    if azure == (state is not None):
        raise ValueError("name the vault: --state DIR (local) or --azure (the app settings in the environment)")
    if state is not None:
        if not (state / "vault.db").exists():
            raise ValueError(f"{state}: no vault.db here (nothing imported with hashes yet)")
        return open_local_vault(str(state))
    vault = azure_vault_from_environment()
    if vault is None:
        raise ValueError("set KEY_VAULT_KEY_ID (or VAULT_KEK) and STORAGE_CONNECTION_STRING or TABLES_ACCOUNT_URL")
    return vault


async def _close(vault: SqliteCredentialVault | TableCredentialVault) -> None:
    if isinstance(vault, TableCredentialVault):
        await vault.close()
    else:
        vault.close()


async def _status(state: Path | None, azure: bool) -> int:
    vault = _open(state, azure)
    try:
        current = await vault.current_kek_id()
        counts = await vault.kek_counts()
    finally:
        await _close(vault)
    retired = vault.retired_kek_ids()
    out.print(f"current KEK {current}: {counts.get(current, 0)} row(s)")
    for kek in sorted((set(counts) | set(retired)) - {current}):
        rows = counts.get(kek, 0)
        where = f" ({retired_key_file(state / KEK_FILE, kek)})" if state is not None and kek in retired else ""
        verdict = "no rows: may be deleted" if rows == 0 else "still needed: run `ciam-migrate vault rewrap`"
        out.print(f"older KEK   {kek}{where}: {rows} row(s), {verdict}")
    return EXIT_OK


async def _rotate(state: Path) -> int:
    if not (state / "vault.db").exists():
        raise ValueError(f"{state}: no vault.db here (nothing imported with hashes yet)")
    with state_lock(state):  # not while a run on this state seals hashes
        old, new = rotate_key_file(state / KEK_FILE)
        out.print(f"retired KEK {old} (kept in {retired_key_file(state / KEK_FILE, old)}); new KEK {new}")
        vault = open_local_vault(str(state))
        try:
            report = await vault.rewrap()
        finally:
            vault.close()
    return _summary(report)


async def _rewrap(state: Path | None, azure: bool) -> int:
    vault = _open(state, azure)
    try:
        report = await vault.rewrap()
    finally:
        await _close(vault)
    return _summary(report)


def _summary(report: Rewrap) -> int:
    out.print(
        f"rewrapped {report.rewrapped} row(s) under {report.current_kek_id}; {report.already_current} already "
        f"current; {report.changed_meanwhile} re-stored or deleted meanwhile; {report.unopenable} did not unwrap"
    )
    if report.unopenable:
        err.print(
            f"{report.unopenable} row(s) name a KEK this vault cannot reach: restore that key (keys/kek-retired/, "
            "VAULT_KEK_RETIRED, or re-enable the Key Vault key version) and run `ciam-migrate vault rewrap` again"
        )
        return EXIT_INCOMPLETE
    out.print("every row is under the current KEK: older KEKs may be deleted (`ciam-migrate vault status`)")
    return EXIT_OK
