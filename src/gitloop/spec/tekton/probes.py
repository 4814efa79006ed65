"""A sidecar's ``readinessProbe``, read for local runs: Tekton starts the steps only once every sidecar
is ready, and Kubernetes decides readiness by the probe.

A probe is ``exec`` (a command run beside the sidecar, ready on exit code 0), ``tcpSocket`` (ready
when the port accepts a connection) or ``httpGet`` (ready on a status from 200 to 399). Locally the
pod's address is 127.0.0.1, so ``host`` may only be empty, ``127.0.0.1`` or ``localhost``; a named
``port`` is looked up in the sidecar's ``ports``. ``grpc`` probes are refused (no gRPC client here).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from gitloop.spec.fields import Node

ProbeKind = Literal["exec", "tcpSocket", "httpGet"]
_HANDLERS: tuple[ProbeKind, ...] = ("exec", "tcpSocket", "httpGet")
_FIELDS = (
    *_HANDLERS,
    "grpc",
    "initialDelaySeconds",
    "periodSeconds",
    "timeoutSeconds",
    "successThreshold",
    "failureThreshold",
    "terminationGracePeriodSeconds",
)
LOCAL_HOSTS = ("", "127.0.0.1", "localhost")


@dataclass(frozen=True)
class Probe:
    """How to tell a sidecar is ready; times in seconds (Kubernetes' defaults)."""

    kind: ProbeKind
    command: tuple[str, ...] = ()
    port: int = 0
    path: str = "/"
    scheme: str = "HTTP"
    headers: tuple[tuple[str, str], ...] = ()
    initial_delay: float = 0.0
    period: float = 10.0
    timeout: float = 1.0

    def describe(self) -> str:
        """``httpGet http://127.0.0.1:8080/healthz``, for messages."""
        if self.kind == "exec":
            return f"exec {' '.join(self.command)}"
        if self.kind == "tcpSocket":
            return f"tcpSocket 127.0.0.1:{self.port}"
        return f"httpGet {self.scheme.lower()}://127.0.0.1:{self.port}{self.path}"


def _port(handler: Node, ports: dict[str, int]) -> int:
    if not handler.has("port"):
        raise handler.error("required field is missing", "port")
    value = handler.raw("port")
    if isinstance(value, str) and not value.isdigit():
        if value not in ports:
            raise handler.error(f"named port {value!r} is not among the sidecar's ports", "port")
        return ports[value]
    port = handler.integer("port") if not isinstance(value, str) else int(value)
    if not 0 < port < 65536:
        raise handler.error(f"port {port} must be between 1 and 65535", "port")
    return port


def parse_probe(node: Node, ports: dict[str, int]) -> Probe:
    """A ``readinessProbe``; ``ports`` maps the sidecar's named ports to their numbers."""
    node.require_map().only(_FIELDS)
    if node.has("grpc"):
        raise node.error("grpc probes are not supported locally; use exec, tcpSocket or httpGet", "grpc")
    kinds = [k for k in _HANDLERS if node.has(k)]
    if len(kinds) != 1:
        raise node.error("must specify exactly one of exec, tcpSocket, httpGet")
    kind = kinds[0]
    handler = node.field(kind)
    timing = Probe(
        kind,
        initial_delay=float(node.integer("initialDelaySeconds", 0, minimum=0)),
        period=float(node.integer("periodSeconds", 10, minimum=1)),
        timeout=float(node.integer("timeoutSeconds", 1, minimum=1)),
    )
    if kind == "exec":
        handler.require_map().only(("command",))
        command = handler.strings("command")
        if not command:
            raise handler.error("required field is missing", "command")
        return replace(timing, command=command)
    allowed = ("host", "port") if kind == "tcpSocket" else ("host", "port", "path", "scheme", "httpHeaders")
    handler.require_map().only(allowed)
    host = handler.string("host")
    if host not in LOCAL_HOSTS:
        raise handler.error(
            f"host {host!r}: a local sidecar is probed on 127.0.0.1 (leave host empty)", "host"
        )
    port = _port(handler, ports)
    if kind == "tcpSocket":
        return replace(timing, port=port)
    scheme = handler.one_of("scheme", ("HTTP", "HTTPS"), default="HTTP")
    headers: list[tuple[str, str]] = []
    for item in handler.items("httpHeaders"):
        item.require_map().only(("name", "value"))
        headers.append((item.string("name", required=True), item.string("value")))
    path = handler.string("path", default="/") or "/"
    return replace(timing, port=port, path=path, scheme=scheme, headers=tuple(headers))


def named_ports(node: Node) -> dict[str, int]:
    """A container's ``ports`` that have a ``name``, by name."""
    found: dict[str, int] = {}
    for item in node.items("ports"):
        if item.is_map() and item.has("name") and item.has("containerPort"):
            found[item.string("name")] = item.integer("containerPort")
    return found
