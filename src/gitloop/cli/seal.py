"""``gitloop seal``: kubeseal for gitloop. Turns a v1 Secret into a SealedSecret that only the holder of
the sealing key can turn back, so the SealedSecret can live in a config repo.

The certificate comes from ``--cert FILE|URL``, from a server (``--server URL`` / ``$GITLOOP_SERVER``,
its ``/v1/cert.pem``), or else from the local key directory (``<state dir>/sealing-keys``, a key
generated on first use) that ``gitloop app sync`` unseals with. ``--raw`` seals one value,
``--merge-into FILE`` adds a Secret's values to an existing SealedSecret file, ``--fetch-cert`` prints
the certificate, ``--rotate`` starts a new local key. The logic lives in
``gitloop.sealing``; this module reads flags and input and prints.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
import yaml

from gitloop.cli.client_tls import client_tls, server_options
from gitloop.errors import SealingError, UsageError
from gitloop.sealing import (
    API_VERSION,
    KIND,
    SCOPES,
    KeyDirectory,
    certificate_of,
    fingerprint,
    scope_of,
    seal,
    seal_value,
)
from gitloop.spec.yaml import InputLimits, check_size, load_all, read_bytes


def key_directory() -> KeyDirectory:
    """The local mode's sealing keys: the directory ``gitloop app`` unseals with."""
    from gitloop.service.sealing import local_key_directory

    return local_key_directory()


def _stdin_bytes() -> bytes:
    limits = InputLimits.from_env()
    data = sys.stdin.buffer.read(limits.max_bytes + 1)
    check_size(data, source="<stdin>", limits=limits)
    return data


def _input(path: str | None) -> tuple[bytes, str]:
    if path is None or path == "-":
        return _stdin_bytes(), "<stdin>"
    return read_bytes(Path(path)), path


def _certificate(cert: str | None, server: str | None, auth_token: str | None) -> tuple[bytes, str]:
    """The certificate to seal for, and where it came from."""
    if cert and cert.startswith(("http://", "https://")):
        import httpx

        try:
            response = httpx.get(cert, timeout=30.0, follow_redirects=True, verify=client_tls().verify())
        except httpx.TransportError as exc:
            raise UsageError(f"--cert {cert}: cannot fetch: {exc}") from exc
        if not response.is_success:
            raise UsageError(f"--cert {cert}: HTTP {response.status_code}")
        return response.content, cert
    if cert:
        return read_bytes(Path(cert)), cert
    if server:
        from gitloop.service.client import ApiClient

        with ApiClient(server, auth_token, tls=client_tls()) as client:
            return client.sealing_certificate(), f"{server.rstrip('/')}/v1/cert.pem"
    directory = key_directory()
    if not directory.keys():
        click.echo(f"generating a sealing key in {directory.path}", err=True)
    return directory.ensure().certificate_pem, str(directory.path)


def _secrets(data: bytes, source: str, *, what: str = "Secret") -> list[dict[str, Any]]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SealingError(f"not UTF-8 text (byte {exc.start})", file=source) from exc
    documents = [document for document in load_all(text, source=source) if document is not None]
    if not documents:
        raise SealingError(f"no {what} in it", file=source)
    for index, document in enumerate(documents):
        if not isinstance(document, dict):
            raise SealingError(f"document {index + 1} is not a mapping", file=source)
    return documents


def _merge_into(target: str, secrets: list[dict[str, Any]], pem: bytes) -> None:
    """kubeseal's ``--merge-into``: seal the Secrets' values for the SealedSecret in ``target`` (its name,
    namespace and scope) and write them into its ``encryptedData`` in place, keeping its other values."""
    data = read_bytes(Path(target))
    documents = _secrets(data, target, what="SealedSecret")
    existing = documents[0]
    if len(documents) != 1 or existing.get("apiVersion") != API_VERSION or existing.get("kind") != KIND:
        raise SealingError(f"expected one {API_VERSION} {KIND} to merge into", file=target, field="kind")
    metadata, spec = existing.get("metadata"), existing.get("spec")
    if not isinstance(metadata, dict) or not isinstance(spec, dict):
        raise SealingError("a SealedSecret needs metadata and spec mappings", file=target, field="spec")
    encrypted = spec.setdefault("encryptedData", {})
    if not isinstance(encrypted, dict):
        raise SealingError("must be a mapping", file=target, field="spec.encryptedData")
    where = {"name": metadata.get("name"), "namespace": metadata.get("namespace") or "default"}
    scope = scope_of(metadata.get("annotations") if isinstance(metadata.get("annotations"), dict) else None)
    for secret in secrets:
        renamed = {**secret, "metadata": {**(secret.get("metadata") or {}), **where}}
        try:
            encrypted.update(seal(renamed, pem, scope=scope)["spec"]["encryptedData"])
        except SealingError as exc:
            raise SealingError(str(exc), file=target) from exc
    as_json = data.lstrip().startswith(b"{")
    Path(target).write_text(_render([existing], "json" if as_json else "yaml"))


def _render(sealed: list[dict[str, Any]], output: str) -> str:
    if output == "json":
        return "".join(json.dumps(document, indent=2) + "\n" for document in sealed)
    return str(yaml.safe_dump_all(sealed, sort_keys=False))


@click.command("seal")
@click.option("-f", "--filename", "path", metavar="FILE", help="The Secret to seal (default: stdin).")
@click.option(
    "--cert", metavar="FILE|URL", help="The certificate to seal for (default: --server, else local keys)."
)
@server_options(help="Seal for this gitloop server's key: its /v1/cert.pem (default: $GITLOOP_SERVER).")
@click.option(
    "--scope",
    type=click.Choice(SCOPES),
    help="Where the SealedSecret may be unsealed (default: the Secret's scope annotations, else strict).",
)
@click.option("-o", "--output", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
@click.option("-w", "--sealed-secret-file", "out", metavar="FILE", help="Write the SealedSecret here.")
@click.option(
    "--merge-into",
    "merge_into",
    metavar="FILE",
    help="Add the Secret's values to this SealedSecret file, in place (its name, namespace and scope).",
)
@click.option("--raw", is_flag=True, help="Seal one value (--from-file or stdin) for encryptedData.")
@click.option("--name", default="", help="With --raw: the SealedSecret's name (strict scope).")
@click.option(
    "-n", "--namespace", default="", help="With --raw: its namespace; else for a Secret without one."
)
@click.option(
    "--from-file", "from_file", metavar="FILE", help="With --raw: the value to seal (default: stdin)."
)
@click.option(
    "--fetch-cert", is_flag=True, help="Print the certificate (of --cert, --server or the local keys)."
)
@click.option("--rotate", is_flag=True, help="Start a new local sealing key; older keys still unseal.")
def seal_command(
    path: str | None,
    cert: str | None,
    server: str | None,
    auth_token: str | None,
    scope: str | None,
    output: str,
    out: str | None,
    merge_into: str | None,
    raw: bool,
    name: str,
    namespace: str,
    from_file: str | None,
    fetch_cert: bool,
    rotate: bool,
) -> None:
    """Seal a Secret into a SealedSecret (bitnami.com/v1alpha1) that gitloop unseals when it applies it.

    \b
      gitloop seal -f secret.yaml -w sealed.yaml            local keys (generated on first use)
      gitloop seal --server https://gitloop:8080 < s.yaml   the server's key
      gitloop seal --merge-into sealed.yaml < more.yaml     add values to a SealedSecret
      gitloop seal --raw --name db --namespace prod --from-file password.txt
      gitloop seal --fetch-cert --server https://gitloop:8080 > cert.pem
      gitloop seal --rotate
    """
    flags = (("--raw", raw), ("--merge-into", merge_into), ("--fetch-cert", fetch_cert), ("--rotate", rotate))
    modes = [flag for flag, given in flags if given]
    if len(modes) > 1:
        raise UsageError(f"{' and '.join(modes)} exclude each other")
    if rotate:
        if cert or server:
            raise UsageError("--rotate starts a new local key: drop --cert and --server")
        key = key_directory().rotate()
        click.echo(f"{key.name} {fingerprint(key.certificate_pem)}")
        return
    pem, source = _certificate(cert, server, auth_token)
    certificate_of(pem, source=source)
    if fetch_cert:
        click.echo(pem.decode(), nl=False)
        return
    if raw:
        value, _ = _input(from_file)
        sealed_value = seal_value(value, pem, namespace=namespace, name=name, scope=scope or "strict")
        click.echo(sealed_value, nl=False)
        return
    data, where = _input(path)
    if merge_into:
        _merge_into(merge_into, _secrets(data, where), pem)
        return
    sealed = []
    for secret in _secrets(data, where):
        try:
            sealed.append(seal(secret, pem, scope=scope, default_namespace=namespace or "default"))
        except SealingError as exc:
            raise SealingError(str(exc), file=where) from exc
    text = _render(sealed, output)
    if out:
        Path(out).write_text(text)
    else:
        click.echo(text, nl=False)
