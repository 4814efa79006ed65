"""One kubeconfig holding every cluster of the serve configuration, one context per cluster name.

The CD engine reaches a destination through a kubeconfig context: ``destination.name: staging`` is the
context ``staging``, a ``destination.server`` the context whose cluster has that URL, and ``in-cluster``
(``https://kubernetes.default.svc``) the current context; any other destination is refused, never
sent to a default (``gitloop.gitops.destinations``). The configured clusters (each a kubeconfig file
and a context in it) are copied into one file whose contexts, clusters and users are renamed after the
configured names; the first cluster is the current context.
Relative certificate and key paths are made absolute. The file holds credentials: it is written with
mode 0600 into a private directory (0700) and removed when the server stops.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from gitloop.errors import InputLimitError, SpecError, UsageError
from gitloop.spec.serveconfig import ClusterConfig
from gitloop.spec.yaml import load_one

_PATH_FIELDS = {
    "cluster": ("certificate-authority",),
    "user": ("client-certificate", "client-key", "tokenFile"),
}


def default_kubeconfig() -> Path:
    """``$KUBECONFIG`` (its first file), else ``~/.kube/config``."""
    env = os.environ.get("KUBECONFIG", "")
    first = next((p for p in env.split(os.pathsep) if p), "")
    return Path(first).expanduser() if first else Path.home() / ".kube" / "config"


def _named(items: Any, name: str, what: str, where: str) -> dict[str, Any]:
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and item.get("name") == name:
            body = item.get(what)
            if isinstance(body, dict):
                return dict(body)
    raise UsageError(f"{where}: no {what} named {name!r}")


def _absolute(body: dict[str, Any], fields: Sequence[str], base: Path) -> dict[str, Any]:
    for key in fields:
        value = body.get(key)
        if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
            body[key] = str(base / value)
    return body


def _read(path: Path, cluster: str) -> Mapping[str, Any]:
    where = f"cluster {cluster}: {path}"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{where}: cannot read the kubeconfig: {getattr(exc, 'strerror', exc)}") from exc
    try:
        data = load_one(text, source=str(path))
    except InputLimitError as exc:
        raise UsageError(f"cluster {cluster}: {exc}") from exc
    except SpecError as exc:
        raise UsageError(f"{where}: not a kubeconfig (invalid YAML)") from exc
    if not isinstance(data, dict):
        raise UsageError(f"{where}: not a kubeconfig")
    return data


def merged(clusters: Sequence[ClusterConfig]) -> dict[str, Any]:
    """The kubeconfig document for ``clusters`` (at least one)."""
    contexts, cluster_entries, users = [], [], []
    for entry in clusters:
        path = (entry.kubeconfig or default_kubeconfig()).resolve()
        data = _read(path, entry.name)
        where = f"cluster {entry.name}: {path}"
        context_name = entry.context or str(data.get("current-context") or "")
        if not context_name:
            raise UsageError(f"{where}: no context given and no current-context")
        context = _named(data.get("contexts"), context_name, "context", where)
        cluster = _absolute(
            _named(data.get("clusters"), str(context.get("cluster", "")), "cluster", where),
            _PATH_FIELDS["cluster"],
            path.parent,
        )
        user_name = str(context.get("user") or "")
        user = (
            _absolute(_named(data.get("users"), user_name, "user", where), _PATH_FIELDS["user"], path.parent)
            if user_name
            else {}
        )
        new_context: dict[str, Any] = {"cluster": entry.name, "user": entry.name}
        if context.get("namespace"):
            new_context["namespace"] = context["namespace"]
        contexts.append({"name": entry.name, "context": new_context})
        cluster_entries.append({"name": entry.name, "cluster": cluster})
        users.append({"name": entry.name, "user": user})
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": clusters[0].name,
        "contexts": contexts,
        "clusters": cluster_entries,
        "users": users,
    }


def write_merged(clusters: Sequence[ClusterConfig], directory: Path) -> Path:
    """Write the merged kubeconfig into ``directory`` (created 0700); the file is 0600."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)
    file = directory / "kubeconfig"
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        os.fchmod(out.fileno(), 0o600)
        yaml.safe_dump(merged(clusters), out, sort_keys=False)
    return file
