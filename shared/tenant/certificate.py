"""The JIT encryption certificate: a self-signed `CN=JitMigration` RSA certificate. Its public part goes into
tenant.toml (`[jit] certificate`), so `tenant apply` puts it on the extension app; the private key (PEM) goes to the
endpoint that decrypts Entra's password context. For rehearsals and tests; production keeps it in Key Vault."""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class EncryptionCertificate:
    """A self-signed `CN=JitMigration` certificate: its base64 DER goes on the app, the PEM key to the endpoint."""

    der_base64: str
    private_key_pem: bytes

    @classmethod
    def generate(cls, *, days: int = 365) -> EncryptionCertificate:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "JitMigration")])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days))
            .sign(key, hashes.SHA256())
        )
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return cls(base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode(), pem)
