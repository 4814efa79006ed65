"""TLS for ``gitloop serve``, the pure parts: the ``tls`` field, the ``allowRemote`` rule, loading a
certificate and key (every mistake named, the key never shown), the self-signed certificate kept in
the state directory, and the client's verification settings."""

from __future__ import annotations

import datetime
import ssl
import textwrap
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gitloop.errors import GitloopError, SpecError, UsageError
from gitloop.service.client import ClientTLS
from gitloop.service.server.tls import fingerprint, load_pair, self_signed, server_context
from gitloop.spec.serve_tls import TLSConfig
from gitloop.spec.serveconfig import ServeConfig, load, remote_refusal

KEY_MARK = "PRIVATE KEY"


def write_pair(directory: Path, name: str = "server", *, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A certificate and unencrypted key for ``host``, as an operator would give them."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / f"{name}.crt", directory / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


def _load(base: Path, text: str) -> ServeConfig:
    path = base / "serve.yaml"
    path.write_text(textwrap.dedent(text))
    return load(path)


@pytest.fixture
def base(tmp_path: Path) -> Path:
    write_pair(tmp_path)
    (tmp_path / "token").write_text("t\n")
    return tmp_path


def test_tls_fields(base: Path) -> None:
    config = _load(base, "tls:\n  certFile: server.crt\n  keyFile: server.key\n")
    assert config.tls == TLSConfig(
        base / "server.crt",
        base / "server.key",
        False,
        f"{base / 'serve.yaml'}:2",
        "tls.certFile",
        "tls.keyFile",
    )
    assert _load(base, "tls: {selfSigned: true}\n").tls.self_signed  # type: ignore[union-attr]
    assert _load(base, "{}\n").tls is None


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("tls: {certFile: server.crt}\n", ":1: ServeConfig: tls.keyFile", "required field is missing"),
        ("tls: {keyFile: server.key}\n", ":1: ServeConfig: tls.certFile", "required field is missing"),
        ("tls: {}\n", ":1: ServeConfig: tls.certFile", "or set selfSigned: true"),
        ("tls:\n  selfSigned: true\n  certFile: server.crt\n", ":2: ServeConfig: tls.selfSigned", "either"),
        ("tls:\n  certFile: nope.crt\n  keyFile: server.key\n", ":2: ServeConfig: tls.certFile", "no such"),
        ("tls:\n  certFile: server.crt\n  keyFile: .\n", ":3: ServeConfig: tls.keyFile", "is a directory"),
        ("tls: {cert: server.crt}\n", ":1: ServeConfig: tls.cert", "unknown field 'cert'"),
        ("tls: {selfSigned: yes please}\n", ":1: ServeConfig: tls.selfSigned", ""),
        ("tls: server.crt\n", ":1: ServeConfig: tls", "must be an object"),
    ],
)
def test_tls_mistakes(base: Path, text: str, where: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        _load(base, text)
    assert where in str(caught.value) and message in str(caught.value)


REMOTE = "listen: 0.0.0.0:8080\nallowRemote: true\n"
TLS = "tls: {selfSigned: true}\n"
TOKEN = "apiTokenFile: token\n"
ANONYMOUS = "auth: {anonymous: true}\n"
NO_AUTH = "authentication (auth.anonymous: false)"


@pytest.mark.parametrize(
    ("text", "insecure", "refused"),
    [
        (REMOTE, False, ["missing TLS (", "--insecure"]),
        (REMOTE + ANONYMOUS, False, ["TLS", NO_AUTH, "--insecure"]),
        (REMOTE + TLS + ANONYMOUS, False, [NO_AUTH]),
        (REMOTE + TLS, False, []),
        (
            REMOTE + TLS + ANONYMOUS + TOKEN,
            False,
            [NO_AUTH],
        ),  # a token beside anonymous access guards nothing
        (REMOTE + TOKEN, False, ["missing TLS"]),
        (REMOTE + TLS + TOKEN, False, []),
        (REMOTE, True, []),
        (REMOTE + TOKEN, True, []),
        ("listen: 127.0.0.1:0\n", False, []),
        ("listen: 127.0.0.1:0\nallowRemote: true\n", False, ["needs TLS and authentication"]),
    ],
)
def test_allow_remote_needs_tls_and_authentication(
    base: Path, text: str, insecure: bool, refused: list[str]
) -> None:
    reason = remote_refusal(_load(base, text), insecure=insecure)
    assert all(part in reason for part in refused) and bool(reason) == bool(refused)


def _pair(base: Path, **overrides: object) -> TLSConfig:
    fields: dict[str, object] = {"cert_file": base / "server.crt", "key_file": base / "server.key"}
    fields.update(overrides)
    return TLSConfig(**fields)  # type: ignore[arg-type]


def test_a_given_pair_loads_with_its_fingerprint(base: Path) -> None:
    served = load_pair(_pair(base))
    cert = x509.load_pem_x509_certificate((base / "server.crt").read_bytes())
    assert served.fingerprint == fingerprint(cert)
    assert served.fingerprint == cert.fingerprint(hashes.SHA256()).hex(":").upper()
    context = server_context(served)
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2


@pytest.mark.parametrize(
    ("break_it", "error", "where", "message"),
    [
        ("other_key", UsageError, "--tls-key", "is not the key of the certificate"),
        ("garbage_cert", UsageError, "--tls-cert", "not a PEM certificate"),
        ("garbage_key", UsageError, "--tls-key", "not a PEM private key"),
        ("encrypted_key", UsageError, "--tls-key", "the key is encrypted"),
        ("unreadable_key", UsageError, "--tls-key", "cannot read"),
        ("other_key_in_file", SpecError, "serve.yaml:7: tls.keyFile", "is not the key"),
    ],
)
def test_bad_pairs_are_named_without_the_key(
    base: Path, break_it: str, error: type[GitloopError], where: str, message: str
) -> None:
    tls = _pair(base)
    if break_it in ("other_key", "other_key_in_file"):
        _, other = write_pair(base, "other")
        tls = _pair(base, key_file=other)
        if break_it == "other_key_in_file":
            tls = _pair(
                base, key_file=other, where="serve.yaml:7", cert_field="tls.certFile", key_field="tls.keyFile"
            )
    elif break_it == "garbage_cert":
        (base / "server.crt").write_text("not a certificate\n")
    elif break_it == "garbage_key":
        (base / "server.key").write_text("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    elif break_it == "encrypted_key":
        key = serialization.load_pem_private_key((base / "server.key").read_bytes(), None)
        (base / "server.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(b"secret"),
            )
        )
    elif break_it == "unreadable_key":
        tls = _pair(base, key_file=base / "missing.key")
    with pytest.raises(error) as caught:
        load_pair(tls)
    text = str(caught.value)
    assert where in text and message in text and KEY_MARK not in text and "MII" not in text


def test_self_signed_is_made_once_private_and_names_the_host(tmp_path: Path) -> None:
    first = self_signed("10.1.2.3", tmp_path / "tls")
    assert (first.key_file.stat().st_mode & 0o777) == 0o600
    cert = x509.load_pem_x509_certificate(first.cert_file.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(n) for n in names.get_values_for_type(x509.IPAddress)} == {"10.1.2.3", "127.0.0.1"}
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert first.fingerprint == fingerprint(cert)
    assert self_signed("10.1.2.3", tmp_path / "tls") == first
    assert self_signed("127.0.0.1", tmp_path / "tls").fingerprint == first.fingerprint
    other_host = self_signed("10.9.9.9", tmp_path / "tls")
    assert other_host.fingerprint != first.fingerprint
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=340)
    assert self_signed("10.9.9.9", tmp_path / "tls", now=later).fingerprint != other_host.fingerprint
    server_context(other_host)


def test_client_verification_settings(base: Path) -> None:
    assert ClientTLS(insecure_skip_verify=True).verify() is False
    assert isinstance(ClientTLS().verify(), ssl.SSLContext)
    trusted = ClientTLS(base / "server.crt").verify()
    assert isinstance(trusted, ssl.SSLContext) and trusted.cert_store_stats()["x509"] == 1
    with pytest.raises(UsageError, match=r"--server-ca .*missing\.pem: cannot use it"):
        ClientTLS(base / "missing.pem").verify()
    with pytest.raises(UsageError, match=r"--server-ca .*token: cannot use it"):
        ClientTLS(base / "token").verify()


def test_a_state_directory_that_cannot_keep_the_certificate_is_named(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x\n")
    with pytest.raises(GitloopError, match=r"cannot keep a self-signed certificate in .*file/tls"):
        self_signed("127.0.0.1", tmp_path / "file" / "tls")
