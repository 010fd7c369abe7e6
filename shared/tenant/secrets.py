"""Secret references of tenant.toml (`env:NAME`, `keyvault:<secret URL>`) → their values, at apply time only.

The environment is a parameter (the CLI passes the process's); Key Vault is read through `fetch_keyvault`
(the CLI's uses the operator's Azure credential). Errors name the reference, never a value.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass


class SecretUnavailable(Exception):
    """A referenced secret cannot be read: set the variable or grant Key Vault access, then apply again."""


@dataclass(frozen=True)
class SecretResolver:
    environ: Mapping[str, str]
    fetch_keyvault: Callable[[str], Awaitable[str]] | None = None

    async def resolve(self, ref: str) -> str:
        kind, _, name = ref.partition(":")
        if kind == "env":
            value = self.environ.get(name)
            if not value:
                raise SecretUnavailable(f"{ref}: the environment variable {name} is not set")
            return value
        if kind == "keyvault" and self.fetch_keyvault is not None:
            try:
                return await self.fetch_keyvault(name)
            except Exception as exc:  # the vault's own error text may carry the URL only; keep the type
                raise SecretUnavailable(f"{ref}: cannot read the Key Vault secret ({exc.__class__.__name__})") from None
        raise SecretUnavailable(f"{ref}: no way to read this reference here")
