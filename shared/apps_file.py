"""An apps file: the `[[apps]]` tables that stand for repeated `--app CLIENT_ID[:…]` options.

In: a TOML file (`--apps-file lanes.toml`). Out: the same `CLIENT_ID[:option=value]` specs `--app` takes, so
every command reaches shared.credentials.parse_apps (one credential per lane, a shared identity refused) the
same way. Secrets are references only: `env:NAME` or `keyvault:https://<vault>.vault.azure.net/secrets/<name>`;
a literal secret is refused and never echoed. Errors: AppsFileError, one line naming the file, the key path
(`apps[1].secret`) and what is wrong. Relative certificate and token paths are read from the file's folder.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared.credentials import KEYVAULT_SECRET_URL, CredentialConfigError, parse_apps
from shared.profiles.loader import first_problem

_ENV_REF = re.compile(r"^env:([A-Za-z_][A-Za-z0-9_]*)$")
_REFERENCE_HELP = "env:NAME or keyvault:https://<vault>.vault.azure.net/secrets/<name>"


class AppsFileError(CredentialConfigError):
    """The apps file cannot be used. str() is the one-line message: file, key path, what is wrong."""


def _secret_reference(value: str) -> str:
    if _ENV_REF.match(value) or (value.startswith("keyvault:") and KEYVAULT_SECRET_URL.match(value[9:])):
        return value
    raise ValueError(f"must be a secret reference ({_REFERENCE_HELP}), never the secret itself")  # no echo


def _env_reference(value: str) -> str:
    if _ENV_REF.match(value):
        return value
    raise ValueError("must be a reference env:NAME (the variable holding the password), never the password itself")


class AppEntry(BaseModel):
    """One lane: an app registration and the one credential it signs in with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    client_id: str = Field(min_length=1, pattern=r"^[^:\s]+$")
    secret: str | None = None  # a reference: env:NAME or keyvault:<secret URL>
    certificate: str | None = None  # PEM or PKCS#12 path (relative to the file)
    certificate_password: str | None = None  # a reference: env:NAME
    federated_token_file: str | None = None  # workload identity federation token file
    managed_identity: str | None = None  # the user-assigned managed identity's client id (in Azure)

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        return None if value is None else _secret_reference(value)

    @field_validator("certificate_password")
    @classmethod
    def _password(cls, value: str | None) -> str | None:
        return None if value is None else _env_reference(value)

    def spec(self, folder: Path) -> str:
        """The `--app` spec of this lane."""
        options: list[str] = []
        if self.secret is not None:
            kind, _, name = self.secret.partition(":")
            options.append(f"secret-env={name}" if kind == "env" else f"secret-keyvault={name}")
        if self.certificate is not None:
            options.append(f"cert={folder / self.certificate}")
        if self.certificate_password is not None:
            options.append(f"cert-password-env={self.certificate_password.removeprefix('env:')}")
        if self.federated_token_file is not None:
            options.append(f"federated-token-file={folder / self.federated_token_file}")
        if self.managed_identity is not None:
            options.append(f"managed-identity={self.managed_identity}")
        return ":".join([self.client_id, *options])


class AppsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    apps: list[AppEntry] = Field(min_length=1)


def load_apps_file(path: Path, *, emulator: bool = False) -> list[str]:
    """The lanes of an apps file as `--app` specs, checked like the command line's (`emulator`: parse_apps')."""
    name = path.name
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AppsFileError(f"{path}: cannot read the apps file ({exc.strerror or type(exc).__name__})") from None
    except UnicodeDecodeError:
        raise AppsFileError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise AppsFileError(f"{name}: not valid TOML ({exc})") from None
    try:
        parsed = AppsFile.model_validate(raw)
    except ValidationError as exc:
        raise AppsFileError(f"{name}: {first_problem(exc, root='')}") from None
    specs = [entry.spec(path.parent) for entry in parsed.apps]
    for index, spec in enumerate(specs):
        try:
            parse_apps([spec], emulator=True)  # this lane on its own: one credential, well formed
        except CredentialConfigError as exc:
            raise AppsFileError(f"{name}: apps[{index}]: {_without_option_name(exc)}") from None
    try:
        parse_apps(specs, emulator=emulator)  # the lanes together: no identity shared by two of them
    except CredentialConfigError as exc:
        raise AppsFileError(f"{name}: apps: {_without_option_name(exc)}") from None
    return specs


def _without_option_name(exc: CredentialConfigError) -> str:
    """parse_apps speaks of `--app ID`; in a file the lane is named by its client_id."""
    return str(exc).replace("--app ", "client_id ", 1)
