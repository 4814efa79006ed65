"""The certificate ``gitloop serve`` serves HTTPS with: a given certificate and key, checked before
anything starts, or a self-signed one generated once and kept in the state directory.

A given pair is read and checked here (PEM, the key unencrypted and matching the certificate's public
key); a mistake is a ``SpecError`` naming ``file:line`` and the field (``tls.certFile``), or a
``UsageError`` naming the flag (``--tls-cert``), never showing the key. The self-signed certificate
(``tls: {selfSigned: true}``, Argo CD's generated one) lives in ``<state>/tls/`` (the key file mode
0600) and names the listen host, ``localhost`` and ``127.0.0.1``; it is made again only when it no
longer covers the host or is about to expire. Its SHA-256 fingerprint is what a user pins.
``server_context`` is the TLS 1.2+ ``SSLContext`` uvicorn serves with.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gitloop.errors import GitloopError, SpecError, UsageError
from gitloop.spec.serve_tls import TLSConfig

SELF_SIGNED_DAYS = 365
RENEW_BEFORE = datetime.timedelta(days=30)


@dataclass(frozen=True)
class ServedCertificate:
    """The files uvicorn serves and the certificate's SHA-256 fingerprint (``AB:CD:...``)."""

    cert_file: Path
    key_file: Path
    fingerprint: str


def fingerprint(certificate: x509.Certificate) -> str:
    """The SHA-256 fingerprint of ``certificate`` as browsers and ``openssl x509 -fingerprint`` show it."""
    return ":".join(f"{byte:02X}" for byte in certificate.fingerprint(hashes.SHA256()))


def _problem(tls: TLSConfig, field: str, message: str) -> GitloopError:
    if tls.where:
        return SpecError(message, file=tls.where, field=field)
    return UsageError(f"{field}: {message}")


def load_pair(tls: TLSConfig) -> ServedCertificate:
    """The given certificate and key, checked; errors name the field and file, never the key."""
    assert tls.cert_file is not None and tls.key_file is not None
    try:
        cert_pem = tls.cert_file.read_bytes()
    except OSError as exc:
        raise _problem(tls, tls.cert_field, f"{tls.cert_file}: cannot read: {exc.strerror}") from None
    try:
        key_pem = tls.key_file.read_bytes()
    except OSError as exc:
        raise _problem(tls, tls.key_field, f"{tls.key_file}: cannot read: {exc.strerror}") from None
    try:
        chain = x509.load_pem_x509_certificates(cert_pem)
    except ValueError:
        raise _problem(tls, tls.cert_field, f"{tls.cert_file}: not a PEM certificate") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except TypeError:
        message = f"{tls.key_file}: the key is encrypted; give an unencrypted PEM key"
        raise _problem(tls, tls.key_field, message) from None
    except (ValueError, UnsupportedAlgorithm):
        raise _problem(tls, tls.key_field, f"{tls.key_file}: not a PEM private key") from None
    leaf = chain[0]
    if key.public_key() != leaf.public_key():
        message = f"{tls.key_file} is not the key of the certificate in {tls.cert_file}"
        raise _problem(tls, tls.key_field, message)
    return ServedCertificate(tls.cert_file, tls.key_file, fingerprint(leaf))


def _names(host: str) -> list[str]:
    return list(dict.fromkeys([host, "localhost", "127.0.0.1"]))


def _covers(certificate: x509.Certificate, host: str, now: datetime.datetime) -> bool:
    if certificate.not_valid_after_utc - RENEW_BEFORE < now:
        return False
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    have = {str(n) for n in names.get_values_for_type(x509.DNSName)}
    have |= {str(n) for n in names.get_values_for_type(x509.IPAddress)}
    return all(name in have for name in _names(host))


def _san(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def self_signed(host: str, directory: Path, *, now: datetime.datetime | None = None) -> ServedCertificate:
    """The self-signed certificate in ``directory`` for ``host`` (made when missing, not covering
    ``host`` or expiring within 30 days); the key file is written mode 0600."""
    now = now or datetime.datetime.now(datetime.UTC)
    cert_file, key_file = directory / "server.crt", directory / "server.key"
    if cert_file.is_file() and key_file.is_file():
        try:
            existing = x509.load_pem_x509_certificate(cert_file.read_bytes())
        except ValueError:
            existing = None
        if existing is not None and _covers(existing, host, now):
            return ServedCertificate(cert_file, key_file, fingerprint(existing))
    try:
        return _make(host, directory, cert_file, key_file, now)
    except OSError as exc:
        raise GitloopError(
            f"cannot keep a self-signed certificate in {directory}: {exc.strerror or exc}"
        ) from None


def _make(
    host: str, directory: Path, cert_file: Path, key_file: Path, now: datetime.datetime
) -> ServedCertificate:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gitloop serve")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=SELF_SIGNED_DAYS))
        .add_extension(x509.SubjectAlternativeName([_san(n) for n in _names(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, False, False, False), critical=True
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    partial = key_file.with_suffix(".key.partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(key_pem)
    partial.replace(key_file)
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return ServedCertificate(cert_file, key_file, fingerprint(certificate))


def served_certificate(tls: TLSConfig, host: str, state: Path) -> ServedCertificate:
    """What ``tls`` asks for: the given pair, checked, or the self-signed one under ``state/tls``."""
    if tls.self_signed:
        return self_signed(host, state / "tls")
    return load_pair(tls)


def server_context(served: ServedCertificate) -> ssl.SSLContext:
    """A server ``SSLContext`` for ``served``, refusing anything older than TLS 1.2."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(served.cert_file, served.key_file)
    except ssl.SSLError as exc:
        raise GitloopError(f"{served.cert_file}: cannot serve this certificate: {exc.reason}") from None
    return context
