"""``gitloop serve`` over HTTPS as a real process: the self-signed certificate (its printed fingerprint
is the served one) trusted by the CLI with ``--server-ca`` or ``$GITLOOP_SERVER_CA``, refused without
(exit 1, naming the flags), accepted with ``--insecure-skip-tls-verify``; a given certificate and key
(``--tls-cert``/``--tls-key`` winning over the file); the request bounds over TLS; ``allowRemote``
refused without TLS and authentication (exit 2) unless ``--insecure``."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import socket
import ssl
import subprocess
import textwrap
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from serve_fakes import TESTDATA, github_headers, github_push
from serve_process import GITLOOP, ServeProcess, serve_env

pytestmark = pytest.mark.integration

DROPPED_WITHIN = 10.0


def _config(tmp_path: Path, extra: str = "tls: {selfSigned: true}\n") -> Path:
    config = tmp_path / "serve.yaml"
    config.write_text(
        textwrap.dedent(f"""\
            listen: 127.0.0.1:0
            readHeaderTimeout: 1s
            readBodyTimeout: 1s
            maxBodyBytes: 1048576
            eventListeners:
              - name: github
                triggers: [{TESTDATA / "listeners.yaml"}]
                pipelines: [{TESTDATA / "pipeline.yaml"}]
                secrets: [{TESTDATA / "secrets.yaml"}]
            """)
        + extra
    )
    return config


def _address(url: str) -> tuple[str, int]:
    host, _, port = url.removeprefix("https://").rpartition(":")
    return host, int(port)


def _printed_fingerprint(serve: ServeProcess) -> str:
    assert serve.process.stdout is not None
    for _ in range(10):
        line = serve.process.stdout.readline()
        if "fingerprint:" in line:
            return line.strip().rsplit(" ", 1)[-1]
    raise AssertionError("no fingerprint printed")


def _served_fingerprint(url: str) -> str:
    pem = ssl.get_server_certificate(_address(url))
    return x509.load_pem_x509_certificate(pem.encode()).fingerprint(hashes.SHA256()).hex(":").upper()


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [GITLOOP, "app", "list", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _issue(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a certificate it signed for 127.0.0.1: the CA file, the certificate, its key."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = directory / "ca.crt", directory / "tls.crt", directory / "tls.key"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return ca_file, cert_file, key_file


def test_self_signed_is_pinned_trusted_with_server_ca_and_refused_without(tmp_path: Path) -> None:
    env = serve_env(tmp_path / "state")
    with ServeProcess(_config(tmp_path), env) as serve:
        assert serve.url.startswith("https://127.0.0.1:")
        printed = _printed_fingerprint(serve)
        assert printed == _served_fingerprint(serve.url)
        cert = tmp_path / "state" / "tls" / "server.crt"
        assert (cert.with_suffix(".key").stat().st_mode & 0o777) == 0o600

        authed = {**env, "GITLOOP_AUTH_TOKEN": serve.token}
        trusted = _cli(authed, "--server", serve.url, "--server-ca", str(cert))
        assert trusted.returncode == 0, trusted.stderr
        assert _cli({**authed, "GITLOOP_SERVER_CA": str(cert)}, "--server", serve.url).returncode == 0
        refused = _cli(authed, "--server", serve.url)
        assert refused.returncode == 1
        assert "TLS certificate is not trusted" in refused.stderr and "--server-ca" in refused.stderr
        skipped = _cli(authed, "--server", serve.url, "--insecure-skip-tls-verify")
        assert skipped.returncode == 0, skipped.stderr

        with serve.client(verify=ssl.create_default_context(cafile=cert)) as client:
            assert client.get("/healthz").status_code == 200
            big = b'{"pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
            assert client.post("/hooks/github", content=big, headers=github_headers(big)).status_code == 413
            body = github_push(ref="refs/heads/not-built")
            answer = client.post("/hooks/github", content=body, headers=github_headers(body))
            assert answer.status_code == 200 and "no trigger matched" in answer.text

        # A head that never ends, over TLS: dropped after readHeaderTimeout as over plain HTTP.
        context = ssl.create_default_context(cafile=cert)
        with (
            socket.create_connection(_address(serve.url)) as raw,
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
        ):
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
            started = time.monotonic()
            tls.sendall(b"POST /hooks/github HTTP/1.1\r\nHost: gitloop\r\n")
            tls.settimeout(DROPPED_WITHIN)
            received = b""
            with contextlib.suppress(ssl.SSLError, ConnectionResetError):
                while chunk := tls.recv(65536):
                    received += chunk
            assert time.monotonic() - started < DROPPED_WITHIN
            assert not received or received.startswith(b"HTTP/1.1 408 "), received
        assert serve.stop() == 0

    # Started again: the same certificate, the same fingerprint.
    with ServeProcess(_config(tmp_path), env) as again:
        assert _printed_fingerprint(again) == printed
        assert again.stop() == 0


def test_a_given_certificate_and_key_from_the_flags(tmp_path: Path) -> None:
    env = serve_env(tmp_path / "state")
    ca, cert, key = _issue(tmp_path)
    flags = ("--tls-cert", str(cert), "--tls-key", str(key))
    with ServeProcess(_config(tmp_path), env, *flags) as serve:
        leaf = x509.load_pem_x509_certificate(cert.read_bytes())
        assert _printed_fingerprint(serve) == leaf.fingerprint(hashes.SHA256()).hex(":").upper()
        assert _served_fingerprint(serve.url) == leaf.fingerprint(hashes.SHA256()).hex(":").upper()
        answer = _cli(
            {**env, "GITLOOP_AUTH_TOKEN": serve.token}, "--server", serve.url, "--server-ca", str(ca)
        )
        assert answer.returncode == 0, answer.stderr
        assert serve.stop() == 0
    assert not (tmp_path / "state" / "tls").exists()

    other = tmp_path / "other"
    other.mkdir()
    _, _, other_key = _issue(other)
    wrong = subprocess.run(
        [
            GITLOOP,
            "serve",
            "--config",
            str(_config(tmp_path)),
            "--tls-cert",
            str(cert),
            "--tls-key",
            str(other_key),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert wrong.returncode == 2 and "--tls-key" in wrong.stderr and "is not the key" in wrong.stderr
    assert "PRIVATE KEY" not in wrong.stderr + wrong.stdout


def _refusal(config: Path, env: dict[str, str]) -> str:
    refused = subprocess.run(
        [GITLOOP, "serve", "--config", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert refused.returncode == 2, refused.stderr
    assert "needs TLS and authentication" in refused.stderr and "--insecure" in refused.stderr
    return refused.stderr


def test_allow_remote_needs_tls_and_authentication_unless_insecure(tmp_path: Path) -> None:
    env = serve_env(tmp_path / "state")
    config = _config(tmp_path, "allowRemote: true\n")  # authenticated by default: only TLS is missing
    only_tls = _refusal(config, env)
    assert "missing TLS" in only_tls and "auth.anonymous" not in only_tls
    with ServeProcess(config, env, "--insecure") as serve, serve.client() as client:
        assert serve.url.startswith("http://") and client.get("/healthz").status_code == 200
        assert serve.stop() == 0
    anonymous = _config(tmp_path, "allowRemote: true\nauth: {anonymous: true}\ntls: {selfSigned: true}\n")
    assert "missing authentication (auth.anonymous: false)" in _refusal(anonymous, env)
    secured = _config(tmp_path, "allowRemote: true\ntls: {selfSigned: true}\n")
    with ServeProcess(secured, env) as serve:
        assert serve.url.startswith("https://") and serve.stop() == 0
    (tmp_path / "token").write_text("a-token\n")  # anonymous beside the legacy token: anyone gets in
    legacy = _config(
        tmp_path, "allowRemote: true\nauth: {anonymous: true}\napiTokenFile: token\ntls: {selfSigned: true}\n"
    )
    assert "missing authentication (auth.anonymous: false)" in _refusal(legacy, env)
