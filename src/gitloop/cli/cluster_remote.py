"""``gitloop cluster add|list|get|rm``: the clusters registered on a gitloop server, as ``argocd cluster``.

Clients of a server's ``/api/v1/clusters`` (``--server URL`` or ``$GITLOOP_SERVER``, ``--auth-token`` or
``$GITLOOP_AUTH_TOKEN``; without a server they exit 2 naming ``--server``). ``add CONTEXT`` registers
a context of an existing kubeconfig (``--kubeconfig``, else ``$KUBECONFIG``, else ``~/.kube/config``,
sent as an absolute path: the server reads it on its own machine — run it where the server runs, or
give a path valid there). The local control-plane verbs are ``gitloop.cli.cluster``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import click
import yaml

from gitloop.cli.client_tls import client_tls, server_options

_server = server_options(
    help="The gitloop server whose clusters these are (default: $GITLOOP_SERVER).", required=True
)
_output = click.option(
    "-o", "--output", type=click.Choice(["table", "json", "yaml"]), default=None, help="Output format."
)

COLUMNS = ("SERVER", "NAME", "VERSION", "STATUS", "MESSAGE", "PROJECT")


def pairs(values: Sequence[str], flag: str) -> dict[str, str]:
    """``k=v`` flags as a mapping; a value without ``=`` is a usage error naming the flag."""
    found: dict[str, str] = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{value!r}: expected KEY=VALUE", param_hint=flag)
        found[key] = rest
    return found


def row(cluster: Mapping[str, Any]) -> tuple[str, ...]:
    """One line of ``cluster list``: server, name, version, status, message, project."""
    state = cluster.get("connectionState") or {}
    return (
        str(cluster.get("server") or ""),
        str(cluster.get("name") or ""),
        str(cluster.get("serverVersion") or ""),
        str(state.get("status") or "Unknown"),
        str(state.get("message") or ""),
        str(cluster.get("project") or ""),
    )


def table(rows: Sequence[tuple[str, ...]]) -> str:
    """Columns padded to their widest cell, as ``argocd cluster list`` prints them."""
    every = [COLUMNS, *rows]
    widths = [max(len(r[i]) for r in every) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in every)


def _print(found: Any, output: str) -> None:
    if output == "json":
        click.echo(json.dumps(found, indent=2))
    else:
        click.echo(yaml.safe_dump(found, sort_keys=False).rstrip())


def _with_client(server: str, auth_token: str | None, action: Callable[[Any], Any]) -> Any:
    from gitloop.service.client import ApiClient

    with ApiClient(server, auth_token, tls=client_tls()) as client:
        return action(client)


@click.command("add")
@click.argument("context")
@click.option("--kubeconfig", metavar="PATH", help="The kubeconfig (default: $KUBECONFIG, ~/.kube/config).")
@click.option("--name", metavar="NAME", help="The cluster's name (default: CONTEXT).")
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE", help="A label (repeatable).")
@click.option("--annotation", "annotations", multiple=True, metavar="KEY=VALUE", help="An annotation.")
@click.option("--project", default="", metavar="P", help="The AppProject the cluster is scoped to.")
@click.option("--upsert", is_flag=True, help="Replace a cluster of that name added before.")
@_server
def add(
    context: str,
    kubeconfig: str | None,
    name: str | None,
    labels: tuple[str, ...],
    annotations: tuple[str, ...],
    project: str,
    upsert: bool,
    server: str,
    auth_token: str | None,
) -> None:
    """Register CONTEXT of a kubeconfig on the server.

    The kubeconfig's path is sent, not its content: the server reads it on its own machine."""
    from gitloop.service.server.kubeconfigs import default_kubeconfig

    path = Path(kubeconfig).expanduser() if kubeconfig else default_kubeconfig()
    body: dict[str, Any] = {
        "name": name or context,
        "config": {"kubeconfig": str(path.resolve()), "context": context},
        "labels": pairs(labels, "--label"),
        "annotations": pairs(annotations, "--annotation"),
        "project": project,
    }
    found = _with_client(server, auth_token, lambda c: c.add_cluster(body, upsert=upsert))
    click.echo(f"Cluster '{found.get('server', '')}' added")


@click.command("list")
@_output
@_server
def list_clusters(output: str | None, server: str, auth_token: str | None) -> None:
    """The registered clusters, their version and connection state (asked now)."""
    found = _with_client(server, auth_token, lambda c: c.clusters())
    if output in ("json", "yaml"):
        _print(found, output)
    else:
        click.echo(table([row(c) for c in found]))


@click.command("get")
@click.argument("cluster")
@_output
@_server
def get(cluster: str, output: str | None, server: str, auth_token: str | None) -> None:
    """One registered cluster, by NAME or SERVER URL."""
    found = _with_client(server, auth_token, lambda c: c.cluster(cluster))
    if output == "table":
        click.echo(table([row(found)]))
    else:
        _print(found, output or "yaml")


@click.command("rm")
@click.argument("cluster")
@_server
def rm(cluster: str, server: str, auth_token: str | None) -> None:
    """Remove a cluster added with cluster add, by NAME or SERVER URL.

    Applications deploying to it are refused from their next refresh, as in Argo CD."""
    _with_client(server, auth_token, lambda c: c.remove_cluster(cluster))
    click.echo(f"Cluster '{cluster}' removed")


REMOTE_COMMANDS = (add, list_clusters, get, rm)
