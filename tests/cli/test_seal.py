"""``gitloop seal`` through click's runner: Secrets sealed for the local key directory, a certificate
file, a URL and a server's ``/v1/cert.pem`` (a real HTTP server on 127.0.0.1), round-tripped through
``unseal``; ``--raw``, ``--fetch-cert``, ``--rotate``; bad input exits 2 naming the file and field."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from gitloop.cli.main import cli
from gitloop.sealing import KeyDirectory, SealingKey, fingerprint, generate_key, unseal

SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: prod
  labels: {app: shop}
type: kubernetes.io/basic-auth
stringData:
  username: admin
  password: pw-cli-secret
"""


@pytest.fixture(scope="module")
def local_key() -> SealingKey:
    return generate_key(bits=2048)


@pytest.fixture
def keys(tmp_path: Path, local_key: SealingKey, monkeypatch: pytest.MonkeyPatch) -> KeyDirectory:
    """A state directory whose key directory already holds a 2048-bit key (no slow generation)."""
    monkeypatch.setenv("GITLOOP_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("GITLOOP_SERVER", raising=False)
    directory = KeyDirectory(tmp_path / "state" / "sealing-keys")
    directory.add(local_key)
    return directory


def _run(*args: str, stdin: str | bytes | None = None) -> Result:
    return CliRunner().invoke(cli, ["seal", *args], input=stdin, catch_exceptions=False)


def _password(sealed: dict[str, Any], keys: list[SealingKey], namespace: str = "prod") -> bytes:
    return base64.b64decode(unseal(sealed, keys, namespace=namespace)["data"]["password"])


def test_seal_a_file_for_the_local_keys_round_trips(tmp_path: Path, keys: KeyDirectory) -> None:
    (tmp_path / "secret.yaml").write_text(SECRET)
    result = _run("-f", str(tmp_path / "secret.yaml"))
    assert result.exit_code == 0, result.output
    assert "pw-cli-secret" not in result.output
    sealed = yaml.safe_load(result.output)
    assert sealed["kind"] == "SealedSecret" and sealed["apiVersion"] == "bitnami.com/v1alpha1"
    assert sealed["spec"]["template"]["type"] == "kubernetes.io/basic-auth"
    assert _password(sealed, keys.keys()) == b"pw-cli-secret"


def test_seal_stdin_to_a_json_file_with_a_scope(tmp_path: Path, keys: KeyDirectory) -> None:
    out = tmp_path / "sealed.json"
    result = _run("-o", "json", "--scope", "namespace-wide", "-w", str(out), stdin=SECRET)
    assert result.exit_code == 0, result.output
    assert result.output == ""
    sealed = json.loads(out.read_text())
    assert sealed["metadata"]["annotations"] == {"sealedsecrets.bitnami.com/namespace-wide": "true"}
    sealed["metadata"]["name"] = "renamed"
    assert _password(sealed, keys.keys()) == b"pw-cli-secret"


def test_seal_with_a_certificate_file(tmp_path: Path, keys: KeyDirectory) -> None:
    other = generate_key(bits=2048)
    (tmp_path / "cert.pem").write_bytes(other.certificate_pem)
    result = _run("--cert", str(tmp_path / "cert.pem"), stdin=SECRET)
    assert result.exit_code == 0, result.output
    assert _password(yaml.safe_load(result.output), [other]) == b"pw-cli-secret"


class _CertHandler(BaseHTTPRequestHandler):
    certificate = b""

    def do_GET(self) -> None:
        found = self.path == "/v1/cert.pem"
        self.send_response(200 if found else 404)
        self.send_header("Content-Type", "application/x-pem-file" if found else "application/json")
        body = self.certificate if found else b'{"message": "no such route"}'
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server_key() -> SealingKey:
    return generate_key(bits=2048)


@pytest.fixture
def cert_server(server_key: SealingKey) -> Iterator[str]:
    handler = type("Handler", (_CertHandler,), {"certificate": server_key.certificate_pem})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_fetch_cert_and_seal_for_a_server(
    cert_server: str, server_key: SealingKey, keys: KeyDirectory
) -> None:
    fetched = _run("--fetch-cert", "--server", cert_server)
    assert fetched.exit_code == 0, fetched.output
    assert fetched.output.encode() == server_key.certificate_pem
    by_server = _run("--server", cert_server, stdin=SECRET)
    assert by_server.exit_code == 0, by_server.output
    assert _password(yaml.safe_load(by_server.output), [server_key]) == b"pw-cli-secret"
    by_url = _run("--cert", f"{cert_server}/v1/cert.pem", stdin=SECRET)
    assert _password(yaml.safe_load(by_url.output), [server_key]) == b"pw-cli-secret"
    missing = _run("--cert", f"{cert_server}/nothing.pem", stdin=SECRET)
    assert missing.exit_code == 2 and "HTTP 404" in missing.output


def test_fetch_cert_of_the_local_keys(keys: KeyDirectory, local_key: SealingKey) -> None:
    result = _run("--fetch-cert")
    assert result.exit_code == 0 and result.output.encode() == local_key.certificate_pem


def test_raw_seals_one_value(tmp_path: Path, keys: KeyDirectory) -> None:
    (tmp_path / "password.txt").write_bytes(b"pw-raw-value")
    result = _run(
        "--raw", "--name", "db", "--namespace", "prod", "--from-file", str(tmp_path / "password.txt")
    )
    assert result.exit_code == 0, result.output
    sealed: dict[str, Any] = {
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": {"name": "db", "namespace": "prod"},
        "spec": {"encryptedData": {"password": result.output}},
    }
    assert _password(sealed, keys.keys()) == b"pw-raw-value"
    wide = _run("--raw", "--scope", "cluster-wide", stdin="pw-wide")
    sealed["metadata"]["annotations"] = {"sealedsecrets.bitnami.com/cluster-wide": "true"}
    sealed["spec"]["encryptedData"]["password"] = wide.output
    assert _password(sealed, keys.keys(), namespace="elsewhere") == b"pw-wide"


def test_rotate_starts_a_new_key_and_keeps_the_old(keys: KeyDirectory, local_key: SealingKey) -> None:
    before = _run(stdin=SECRET)
    result = _run("--rotate")
    assert result.exit_code == 0, result.output
    ring = keys.keys()
    assert len(ring) == 2 and ring[1].name == local_key.name
    assert result.output == f"{ring[0].name} {fingerprint(ring[0].certificate_pem)}\n"
    assert _password(yaml.safe_load(before.output), ring) == b"pw-cli-secret"
    after = yaml.safe_load(_run(stdin=SECRET).output)
    assert _password(after, [ring[0]]) == b"pw-cli-secret"


def test_first_use_generates_a_local_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITLOOP_STATE_DIR", str(tmp_path / "fresh"))
    monkeypatch.delenv("GITLOOP_SERVER", raising=False)
    result = CliRunner().invoke(cli, ["seal"], input=SECRET)
    assert result.exit_code == 0, result.output
    ring = KeyDirectory(tmp_path / "fresh" / "sealing-keys").keys()
    assert len(ring) == 1
    assert _password(yaml.safe_load(result.stdout), ring) == b"pw-cli-secret"


BAD = [
    ("data: {password: 'pw-bad-64!'}", "bad.yaml: Secret/prod/db: data.password: not valid base64"),
    ("stringData: [pw-in-a-list]", "bad.yaml: Secret/prod/db: stringData: must be a mapping, not list"),
    ("stringData: {password: [pw-nested}", "bad.yaml: invalid YAML"),
]


@pytest.mark.parametrize(("tail", "error"), BAD)
def test_bad_input_exits_2_naming_file_and_field(
    tail: str, error: str, tmp_path: Path, keys: KeyDirectory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("bad.yaml").write_text(
        f"apiVersion: v1\nkind: Secret\nmetadata: {{name: db, namespace: prod}}\n{tail}\n"
    )
    result = _run("-f", "bad.yaml")
    assert result.exit_code == 2
    assert error in result.output
    assert "pw-" not in result.output


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--raw", "--namespace", "prod"], "a strict value needs the name of its SealedSecret"),
        (["--raw", "--scope", "namespace-wide"], "a namespace-wide value needs the namespace"),
        (["--raw", "--rotate"], "--raw and --rotate exclude each other"),
        (["--rotate", "--cert", "c.pem"], "--rotate starts a new local key"),
        (["--cert", "missing.pem"], "missing.pem: cannot read"),
    ],
)
def test_usage_errors_exit_2(args: list[str], error: str, keys: KeyDirectory) -> None:
    result = _run(*args, stdin="pw-usage")
    assert result.exit_code == 2
    assert error in result.output
    assert "pw-usage" not in result.output


def test_every_secret_of_a_stream_is_sealed(keys: KeyDirectory) -> None:
    other = SECRET.replace("name: db", "name: cache").replace("pw-cli-secret", "pw-cli-other")
    result = _run(stdin=f"{SECRET}---\n{other}")
    assert result.exit_code == 0, result.output
    first, second = yaml.safe_load_all(result.output)
    assert (first["metadata"]["name"], second["metadata"]["name"]) == ("db", "cache")
    assert _password(first, keys.keys()) == b"pw-cli-secret"
    assert _password(second, keys.keys()) == b"pw-cli-other"
    empty = _run(stdin="")
    assert empty.exit_code == 2 and "<stdin>: no Secret in it" in empty.output


@pytest.mark.parametrize("suffix", ["yaml", "json"])
def test_merge_into_adds_values_in_place(suffix: str, tmp_path: Path, keys: KeyDirectory) -> None:
    target = tmp_path / f"sealed.{suffix}"
    first = _run("-o", suffix, "--scope", "namespace-wide", "-w", str(target), stdin=SECRET)
    assert first.exit_code == 0, first.output
    before = yaml.safe_load(target.read_text())
    more = "apiVersion: v1\nkind: Secret\nmetadata: {name: whatever}\nstringData: {token: pw-merged}\n"
    result = _run("--merge-into", str(target), stdin=more)
    assert result.exit_code == 0, result.output
    assert result.output == "" and "pw-merged" not in target.read_text()
    assert target.read_text().lstrip().startswith("{") == (suffix == "json")
    after = yaml.safe_load(target.read_text())
    assert after["metadata"] == before["metadata"]
    kept = {k: v for k, v in after["spec"]["encryptedData"].items() if k != "token"}
    assert kept == before["spec"]["encryptedData"]
    secret = unseal(after, keys.keys(), namespace="prod")
    assert base64.b64decode(secret["data"]["token"]) == b"pw-merged"
    assert base64.b64decode(secret["data"]["password"]) == b"pw-cli-secret"


def test_merge_into_refuses_what_is_not_a_sealed_secret(tmp_path: Path, keys: KeyDirectory) -> None:
    (tmp_path / "plain.yaml").write_text(SECRET)
    result = _run("--merge-into", str(tmp_path / "plain.yaml"), stdin=SECRET)
    assert result.exit_code == 2
    assert "plain.yaml: kind: expected one bitnami.com/v1alpha1 SealedSecret to merge into" in result.output
    assert (tmp_path / "plain.yaml").read_text() == SECRET
