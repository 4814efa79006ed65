"""Sealing key pairs: generated as the sealed-secrets controller generates them (RSA, a self-signed
certificate whose public key sealers encrypt to), read back from PEM, and kept for the local mode in a
private key directory.

A key directory holds one ``<created-ns>-<name>.key`` (PKCS#8 private key, mode 0600) and one
``<created-ns>-<name>.crt`` per key; the directory is mode 0700. Keys are never deleted: a rotated-out key
still unseals what was sealed with it.
"""

from __future__ import annotations

import datetime
import os
import secrets
import string
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.x509.oid import NameOID

from gitloop.errors import SealingError

KEY_NAME_PREFIX = "sealed-secrets-key"
"""Keys are named as the controller names its key Secrets: this prefix and a random suffix."""

_CERT_COMMON_NAME = "sealed-secret"
_CERT_ORGANIZATION = "gitloop"


@dataclass(frozen=True)
class SealingKey:
    """One key pair: the private key (never printed) and its public, self-signed certificate."""

    name: str
    private_key_pem: bytes = field(repr=False)
    certificate_pem: bytes
    created: float

    def private_key(self) -> RSAPrivateKey:
        """The private key; ``SealingError`` naming the key when its PEM is not an RSA private key."""
        try:
            key = serialization.load_pem_private_key(self.private_key_pem, password=None)
        except (ValueError, TypeError) as exc:
            raise SealingError("not a readable unencrypted PEM private key", obj=f"key/{self.name}") from exc
        if not isinstance(key, RSAPrivateKey):
            raise SealingError("not an RSA private key", obj=f"key/{self.name}")
        return key


def _suffix() -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(5))


def generate_key(*, bits: int = 4096, days: int = 3650, name: str = "") -> SealingKey:
    """A new RSA key pair with a self-signed certificate valid for ``days`` days."""
    if bits < 2048:
        raise SealingError(f"a sealing key needs at least 2048 bits, not {bits}", field="bits")
    if days < 1:
        raise SealingError(f"a certificate must be valid for at least one day, not {days}", field="days")
    created = time.time()
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, _CERT_COMMON_NAME),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _CERT_ORGANIZATION),
        ]
    )
    now = datetime.datetime.fromtimestamp(created, tz=datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return SealingKey(
        name=name or f"{KEY_NAME_PREFIX}{_suffix()}",
        private_key_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM),
        created=created,
    )


def _certificate(pem: bytes, source: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise SealingError("not a PEM certificate", file=source) from exc


def certificate_of(pem: bytes, *, source: str = "certificate") -> RSAPublicKey:
    """The RSA public key of a PEM certificate, as kubeseal reads ``--cert``: ``SealingError`` naming
    ``source`` for a bad PEM, a key that is not RSA, or a certificate that has expired."""
    certificate = _certificate(pem, source)
    now = datetime.datetime.now(tz=datetime.UTC)
    if certificate.not_valid_after_utc < now:
        expired = certificate.not_valid_after_utc.isoformat(timespec="seconds")
        raise SealingError(f"the certificate expired at {expired}", file=source)
    key = certificate.public_key()
    if not isinstance(key, RSAPublicKey):
        raise SealingError("the certificate's key is not an RSA key", file=source)
    return key


def fingerprint(pem: bytes, *, source: str = "certificate") -> str:
    """The SHA-256 fingerprint of a PEM certificate, as colon-separated upper-case hex."""
    digest = _certificate(pem, source).fingerprint(hashes.SHA256())
    return ":".join(f"{byte:02X}" for byte in digest)


class KeyDirectory:
    """The local mode's key ring: key pairs as files under a private directory."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _private(self) -> None:
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.path.stat().st_mode & 0o077:
            self.path.chmod(0o700)

    def keys(self) -> list[SealingKey]:
        """Every key, newest first; ``SealingError`` naming a file that cannot be read."""
        if not self.path.is_dir():
            return []
        found: list[SealingKey] = []
        for key_file in self.path.glob("*.key"):
            stamp, _, name = key_file.stem.partition("-")
            cert_file = key_file.with_suffix(".crt")
            if not stamp.isdigit() or not name:
                raise SealingError("not named <created-ns>-<name>.key", file=str(key_file))
            try:
                private_pem, cert_pem = key_file.read_bytes(), cert_file.read_bytes()
            except OSError as exc:
                raise SealingError(f"cannot read the key pair: {exc.strerror}", file=str(key_file)) from exc
            found.append(SealingKey(name, private_pem, cert_pem, int(stamp) / 1e9))
        return sorted(found, key=lambda key: key.created, reverse=True)

    def add(self, key: SealingKey) -> None:
        """Store ``key``; the private key is written readable by its owner only."""
        self._private()
        stem = f"{int(key.created * 1e9)}-{key.name}"
        key_file = self.path / f"{stem}.key"
        try:
            descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as out:
                out.write(key.private_key_pem)
            (self.path / f"{stem}.crt").write_bytes(key.certificate_pem)
        except OSError as exc:
            raise SealingError(
                f"cannot store the key pair: {exc.strerror or exc}", file=str(key_file)
            ) from exc

    def ensure(self, *, bits: int = 4096) -> SealingKey:
        """The newest key; generates and stores one when there is none."""
        existing = self.keys()
        return existing[0] if existing else self.rotate(bits=bits)

    def rotate(self, *, bits: int = 4096) -> SealingKey:
        """A new active key; the old ones are kept for unsealing."""
        key = generate_key(bits=bits)
        newest = self.keys()
        if newest and newest[0].created >= key.created:  # a clock that went back must not demote it
            key = SealingKey(key.name, key.private_key_pem, key.certificate_pem, newest[0].created + 1e-6)
        self.add(key)
        return key
