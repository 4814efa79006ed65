"""A real local Kubernetes control plane: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and N kubemark hollow nodes, all on 127.0.0.1, TLS with a generated CA, token auth,
RBAC (plus the Node authorizer for the hollow kubelets).

State of a cluster named NAME lives in ``<state_dir>/clusters/NAME/``: ``state.json`` (ports and the
PIDs gitloop started), ``kubeconfig`` (admin), PKI, component kubeconfigs, logs and etcd's data.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from gitloop.errors import InfraError, UsageError
from gitloop.localinfra import kubebuild, pki, processes
from gitloop.localinfra.paths import state_dir
from gitloop.localinfra.processes import Recorded

_NAME_OK = set("abcdefghijklmnopqrstuvwxyz0123456789-")


@dataclass(frozen=True)
class _Identity:
    user: str
    groups: tuple[str, ...]
    token: str


@dataclass
class ClusterState:
    """What ``state.json`` records about a running cluster."""

    name: str
    api_port: int
    etcd_port: int
    nodes: list[str]
    processes: list[Recorded] = field(default_factory=list)

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.api_port}"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "api_port": self.api_port,
            "etcd_port": self.etcd_port,
            "nodes": self.nodes,
            "processes": [p.to_json() for p in self.processes],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClusterState:
        return cls(
            name=str(data["name"]),
            api_port=int(data["api_port"]),
            etcd_port=int(data["etcd_port"]),
            nodes=[str(n) for n in data["nodes"]],
            processes=[Recorded.from_json(p) for p in data["processes"]],
        )


@dataclass(frozen=True)
class Status:
    """``running``: every recorded process alive; ``stale``: state exists but some are gone."""

    name: str
    state: str
    server: str | None = None
    kubeconfig: Path | None = None
    nodes: tuple[str, ...] = ()
    dead: tuple[str, ...] = ()


class LocalCluster:
    """One named local control plane."""

    def __init__(self, name: str = "gitloop", root: Path | None = None) -> None:
        if not name or not set(name) <= _NAME_OK or name.startswith("-"):
            raise UsageError(f"cluster name {name!r}: use lowercase letters, digits and '-'")
        self.name = name
        self.dir = (root or state_dir()) / "clusters" / name
        self.state_file = self.dir / "state.json"
        self.kubeconfig = self.dir / "kubeconfig"

    # ---- reading state -------------------------------------------------------------------------
    def _load(self) -> ClusterState | None:
        try:
            return ClusterState.from_json(json.loads(self.state_file.read_text()))
        except FileNotFoundError:
            return None
        except (ValueError, KeyError) as exc:
            raise InfraError(f"{self.state_file}: unreadable cluster state ({exc}); remove the file") from exc

    def status(self) -> Status:
        st = self._load()
        if st is None:
            return Status(self.name, "absent")
        dead = tuple(p.role for p in st.processes if not processes.alive(p))
        return Status(
            self.name,
            "stale" if dead else "running",
            server=st.server,
            kubeconfig=self.kubeconfig,
            nodes=tuple(st.nodes),
            dead=dead,
        )

    # ---- up ------------------------------------------------------------------------------------
    def up(self, nodes: int = 1, *, timeout: float = 120.0) -> tuple[Status, bool]:
        """Start the cluster unless it already runs. Returns its status and whether it was started."""
        if nodes < 1:
            raise UsageError("--nodes must be at least 1")
        current = self.status()
        if current.state == "running":
            return current, False
        if current.state == "stale":
            self.down()
        binaries = kubebuild.locate()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o700)
        ports = processes.free_ports(3 + nodes)
        node_names = [f"{self.name}-node-{i}" for i in range(1, nodes + 1)]
        st = ClusterState(self.name, api_port=ports[0], etcd_port=ports[1], nodes=node_names)
        try:
            self._start(st, binaries, etcd_peer_port=ports[2], kubelet_ports=ports[3:])
            self._wait_ready(st, timeout)
        except BaseException:
            self._save(st)
            self.down()
            raise
        return self.status(), True

    def _save(self, st: ClusterState) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(st.to_json(), indent=2))
        tmp.replace(self.state_file)

    def _start(
        self, st: ClusterState, b: kubebuild.Binaries, *, etcd_peer_port: int, kubelet_ports: list[int]
    ) -> None:
        d = self.dir
        files = pki.generate(d / "pki", self.name)
        idents = {
            "admin": _Identity("gitloop-admin", ("system:masters",), secrets.token_hex(24)),
            "controller-manager": _Identity("system:kube-controller-manager", (), secrets.token_hex(24)),
            "scheduler": _Identity("system:kube-scheduler", (), secrets.token_hex(24)),
        }
        for node in st.nodes:
            idents[node] = _Identity(f"system:node:{node}", ("system:nodes",), secrets.token_hex(24))
        tokens = d / "tokens.csv"
        tokens.touch(mode=0o600)
        tokens.write_text(
            "".join(f'{i.token},{i.user},{i.user},"{",".join(i.groups)}"\n' for i in idents.values())
        )
        for role, ident in idents.items():
            path = self.kubeconfig if role == "admin" else d / "kubeconfigs" / f"{role}.yaml"
            _write_kubeconfig(path, f"gitloop-{self.name}", st.server, files.ca_cert, ident)
        logs = d / "logs"
        peer = f"http://127.0.0.1:{etcd_peer_port}"
        etcd_url = f"http://127.0.0.1:{st.etcd_port}"
        self._spawn(
            st,
            "etcd",
            [
                str(b.etcd),
                "--name=default",
                f"--data-dir={d / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=default={peer}",
                "--log-level=warn",
            ],
            logs,
        )
        self._spawn(
            st,
            "kube-apiserver",
            [
                str(b.apiserver),
                f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={st.api_port}",
                "--insecure-port=0",
                f"--tls-cert-file={files.serving_cert}",
                f"--tls-private-key-file={files.serving_key}",
                f"--client-ca-file={files.ca_cert}",
                f"--token-auth-file={tokens}",
                "--authorization-mode=Node,RBAC",
                "--service-cluster-ip-range=10.0.0.0/24",
                "--endpoint-reconciler-type=none",
                f"--service-account-key-file={files.sa_pub}",
                f"--service-account-signing-key-file={files.sa_key}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                "--allow-privileged=true",
                "--enable-admission-plugins=NodeRestriction",
                "--v=1",
            ],
            logs,
        )
        self._wait_api(st, 60.0)
        kcs = d / "kubeconfigs"
        self._spawn(
            st,
            "kube-controller-manager",
            [
                str(b.controller_manager),
                f"--kubeconfig={kcs / 'controller-manager.yaml'}",
                "--leader-elect=false",
                "--port=0",
                "--secure-port=0",
                "--controllers=*",
                "--use-service-account-credentials=true",
                f"--service-account-private-key-file={files.sa_key}",
                f"--root-ca-file={files.ca_cert}",
                "--concurrent-deployment-syncs=10",
                "--concurrent-replicaset-syncs=10",
                "--v=1",
            ],
            logs,
        )
        self._spawn(
            st,
            "kube-scheduler",
            [
                str(b.scheduler),
                f"--kubeconfig={kcs / 'scheduler.yaml'}",
                "--leader-elect=false",
                "--port=0",
                "--secure-port=0",
                "--v=1",
            ],
            logs,
        )
        for node, port in zip(st.nodes, kubelet_ports, strict=True):
            tmp = d / "nodes" / node
            tmp.mkdir(parents=True, exist_ok=True)
            self._spawn(
                st,
                f"kubemark/{node}",
                [
                    str(b.kubemark),
                    "--morph=kubelet",
                    f"--name={node}",
                    f"--kubeconfig={kcs / f'{node}.yaml'}",
                    f"--kubelet-port={port}",
                    "--kubelet-read-only-port=0",
                    "--kube-api-content-type=application/json",
                    "--v=1",
                ],
                logs,
                env={**os.environ, "TMPDIR": str(tmp)},
            )

    def _spawn(
        self, st: ClusterState, role: str, argv: list[str], logs: Path, env: dict[str, str] | None = None
    ) -> None:
        log = logs / f"{role.replace('/', '-')}.log"
        st.processes.append(processes.spawn(role, argv, log, env=env, cwd=self.dir))
        self._save(st)

    # ---- readiness -----------------------------------------------------------------------------
    def client(self, st: ClusterState | None = None) -> httpx.Client:
        st = st or self._load()
        if st is None:
            raise InfraError(f"cluster {self.name!r} is not running: gitloop cluster up --name {self.name}")
        cfg = yaml.safe_load(self.kubeconfig.read_text())
        token = cfg["users"][0]["user"]["token"]
        ctx = ssl.create_default_context(cafile=str(self.dir / "pki" / "ca.crt"))
        return httpx.Client(
            base_url=st.server, verify=ctx, headers={"Authorization": f"Bearer {token}"}, timeout=5.0
        )

    def _check_alive(self, st: ClusterState) -> None:
        for p in st.processes:
            if not processes.alive(p):
                tail = "".join(Path(p.log).read_text(errors="replace").splitlines(keepends=True)[-20:])
                raise InfraError(f"{p.role} exited during start-up; its log is {p.log}:\n{tail}")

    def _wait_api(self, st: ClusterState, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self.client(st) as c:
            while True:
                self._check_alive(st)
                try:
                    if c.get("/readyz").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise InfraError(
                        f"kube-apiserver did not become ready in {timeout:.0f}s (logs in {self.dir})"
                    )
                time.sleep(0.2)

    def _wait_ready(self, st: ClusterState, timeout: float) -> None:
        """Every node Ready and the default ServiceAccount present, so pods can be created at once."""
        deadline = time.monotonic() + timeout
        with self.client(st) as c:
            while True:
                self._check_alive(st)
                try:
                    if (
                        _nodes_ready(c, st.nodes)
                        and c.get("/api/v1/namespaces/default/serviceaccounts/default").status_code == 200
                    ):
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise InfraError(
                        f"nodes did not become Ready in {timeout:.0f}s (logs in {self.dir / 'logs'})"
                    )
                time.sleep(0.25)

    # ---- down ----------------------------------------------------------------------------------
    def down(self) -> bool:
        """Stop every process this cluster recorded and remove its state. False if there was none."""
        st = self._load()
        if st is None:
            if self.dir.exists():
                shutil.rmtree(self.dir, ignore_errors=True)
            return False
        # Nodes and controllers first, etcd last, so nothing logs errors about a vanished store.
        processes.stop(list(reversed(st.processes)))
        still = [p.role for p in st.processes if processes.alive(p)]
        if still:
            raise InfraError(f"could not stop {', '.join(still)}; state kept in {self.dir}")
        shutil.rmtree(self.dir, ignore_errors=True)
        return True


def _nodes_ready(c: httpx.Client, names: list[str]) -> bool:
    resp = c.get("/api/v1/nodes")
    if resp.status_code != 200:
        return False
    ready = set()
    for item in resp.json().get("items", []):
        for cond in item.get("status", {}).get("conditions", []):
            if cond.get("type") == "Ready" and cond.get("status") == "True":
                ready.add(item["metadata"]["name"])
    return set(names) <= ready


def _write_kubeconfig(path: Path, name: str, server: str, ca_cert: Path, ident: _Identity) -> None:
    import base64

    cfg = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": name,
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(ca_cert.read_bytes()).decode(),
                },
            }
        ],
        "users": [{"name": f"{name}-{ident.user}", "user": {"token": ident.token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": f"{name}-{ident.user}"}}],
        "current-context": name,
        "preferences": {},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))


def list_clusters(root: Path | None = None) -> list[Status]:
    base = (root or state_dir()) / "clusters"
    if not base.is_dir():
        return []
    return [LocalCluster(p.name, root).status() for p in sorted(base.iterdir()) if p.is_dir()]
