"""The ``tls`` field of a ``ServeConfig`` (``gitloop.spec.serveconfig``): a certificate and key, or a
self-signed certificate. Only paths are read here; the files are checked, and the self-signed
certificate made, by ``gitloop.service.server.tls`` when ``gitloop serve`` starts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gitloop.spec.fields import Node


@dataclass(frozen=True)
class TLSConfig:
    """``tls``: a certificate and key (``certFile``/``keyFile``, or ``--tls-cert``/``--tls-key``) or a
    self-signed certificate kept in the state directory. ``where`` is ``file:line`` of the fields
    (empty for flags) and ``cert_field``/``key_field`` their names, for the loader's errors."""

    cert_file: Path | None = None
    key_file: Path | None = None
    self_signed: bool = False
    where: str = ""
    cert_field: str = "--tls-cert"
    key_field: str = "--tls-key"


def parse_tls(node: Node, optional_file: Callable[[Node, str], Path | None]) -> TLSConfig | None:
    """``node``'s ``tls`` (``None`` without one); ``optional_file(parent, key)`` reads a path field
    relative to the config file, checking that it exists and is a file."""
    tls = node.child("tls")
    if tls is None:
        return None
    tls.only(("certFile", "keyFile", "selfSigned"))
    self_signed = tls.boolean("selfSigned")
    cert = optional_file(tls, "certFile")
    key = optional_file(tls, "keyFile")
    if self_signed and (cert or key):
        raise tls.field("selfSigned").error("give either selfSigned: true or certFile and keyFile")
    if not self_signed and (cert is None or key is None):
        missing = "keyFile" if cert else "certFile"
        raise tls.error("required field is missing (or set selfSigned: true)", missing)
    line = tls.origin.line(tls.field("certFile" if cert else "selfSigned").path)
    where = f"{tls.origin.file}:{line}" if line else tls.origin.file
    return TLSConfig(cert, key, self_signed, where, "tls.certFile", "tls.keyFile")
