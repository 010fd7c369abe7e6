"""The tenant.toml a rehearsal applies: one customer app and the JIT wiring to an endpoint on loopback.

`rehearse cutover` (and the cutover test rig) write it into their state folder and run `tenant apply` on it, so
the rehearsal switches JIT on exactly as an operator does, and reads the extension and listener from the apply.
"""

from __future__ import annotations

import json
from pathlib import Path

from shared.tenant.certificate import EncryptionCertificate

REHEARSAL_APP_KEY = "shop"


def write_rehearsal_tenant_file(folder: Path, *, endpoint: str, certificate: EncryptionCertificate) -> Path:
    path = folder / "tenant.toml"
    path.write_text(
        "# Written by the cutover rehearsal; applied with `ciam-migrate tenant apply` (docs/tenant.md).\n\n"
        "[[apps]]\n"
        f'key = "{REHEARSAL_APP_KEY}"\n'
        'display_name = "Rehearsal shop"\n'
        'redirect_uris = ["https://jwt.ms"]\n\n'
        "[jit]\n"
        f"endpoint = {json.dumps(endpoint)}\n"
        f'apps = ["{REHEARSAL_APP_KEY}"]\n'
        f"certificate = {json.dumps(certificate.der_base64)}\n"
        "timeout_ms = 2000\n"
        "max_retries = 1\n",
        encoding="utf-8",
    )
    return path
