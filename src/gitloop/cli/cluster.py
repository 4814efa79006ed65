"""``gitloop cluster``: two groups of verbs under one name.

Local control plane (``build``, ``up``, ``down``, ``status``, ``kubeconfig``): build, start, stop and
inspect real Kubernetes control planes on this machine. Registered clusters on a gitloop server
(``add``, ``list``, ``get``, ``rm``: ``gitloop.cli.cluster_remote``): the destinations a server's
Applications deploy to. The help lists the two groups apart.
"""

from __future__ import annotations

import sys
import time

import click
from rich.console import Console

from gitloop.cli.cluster_remote import REMOTE_COMMANDS
from gitloop.localinfra import kubebuild
from gitloop.localinfra.cluster import LocalCluster, Status, list_clusters

_name = click.option("--name", default="gitloop", show_default=True, help="Which local cluster.")


def _build_with_progress() -> None:
    if kubebuild.cached():
        return
    console = Console(stderr=True)
    started = time.monotonic()
    console.print(
        f"Building Kubernetes {kubebuild.KUBE_VERSION} from Debian's source package "
        "(once; cached afterwards, about 10 minutes on 2 cores)"
    )

    def progress(step: int, of: int, description: str) -> None:
        elapsed = time.monotonic() - started
        console.print(f"  [{step}/{of}] {description}  ({elapsed:.0f}s)")

    kubebuild.build(progress)
    console.print(f"Built in {time.monotonic() - started:.0f}s: {kubebuild.binaries_dir()}")


def _describe(st: Status) -> str:
    if st.state == "absent":
        return f"{st.name}: not running"
    line = (
        f"{st.name}: {st.state}  server={st.server}  kubeconfig={st.kubeconfig}  nodes={','.join(st.nodes)}"
    )
    if st.dead:
        line += f"  (gone: {', '.join(st.dead)})"
    return line


_LOCAL = ("build", "up", "down", "status", "kubeconfig")


class _Groups(click.Group):
    """Lists the local control-plane verbs and the registered-cluster verbs in two sections."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        for title, names in (
            ("Local control plane (this machine)", _LOCAL),
            ("Registered clusters (on a gitloop server: --server / $GITLOOP_SERVER)", self._remote()),
        ):
            rows = [(n, self.commands[n].get_short_help_str(80)) for n in names if n in self.commands]
            with formatter.section(title):
                formatter.write_dl(rows)

    def _remote(self) -> list[str]:
        return [n for n in self.commands if n not in _LOCAL]


@click.group(cls=_Groups)
def cluster() -> None:
    """Local Kubernetes control planes (etcd, apiserver, controllers, hollow nodes on 127.0.0.1), and
    the clusters registered on a gitloop server (as argocd cluster)."""


@cluster.command()
def build() -> None:
    """Build and cache the control-plane binaries (a no-op when they are cached)."""
    _build_with_progress()
    click.echo(str(kubebuild.binaries_dir()))


@cluster.command()
@_name
@click.option("--nodes", default=1, show_default=True, type=click.IntRange(1, 20), help="Hollow nodes.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=180.0,
    show_default=True,
    help="Seconds to wait for Ready nodes.",
)
def up(name: str, nodes: int, timeout: float) -> None:
    """Start the cluster (idempotent) and wait until its nodes are Ready."""
    lc = LocalCluster(name)
    if lc.status().state != "running":
        _build_with_progress()
    started = time.monotonic()
    st, created = lc.up(nodes, timeout=timeout)
    if created:
        click.echo(f"cluster {name} is up in {time.monotonic() - started:.1f}s", err=True)
    else:
        click.echo(f"cluster {name} is already running", err=True)
    click.echo(_describe(st))


@cluster.command()
@_name
def down(name: str) -> None:
    """Stop the cluster's own processes and remove its state."""
    if LocalCluster(name).down():
        click.echo(f"cluster {name} is down")
    else:
        click.echo(f"cluster {name} was not running")


@cluster.command()
@click.option("--name", default=None, help="One cluster (default: all of them).")
def status(name: str | None) -> None:
    """Show whether clusters run; exit 1 if the named one does not."""
    sts = [LocalCluster(name).status()] if name else list_clusters()
    if not sts:
        click.echo("no local clusters")
    for st in sts:
        click.echo(_describe(st))
    if name and sts[0].state != "running":
        sys.exit(1)


@cluster.command()
@_name
def kubeconfig(name: str) -> None:
    """Print the path of the cluster's admin kubeconfig (for KUBECONFIG=...)."""
    st = LocalCluster(name).status()
    if st.state == "absent" or st.kubeconfig is None:
        click.echo(f"error: cluster {name} is not running: gitloop cluster up --name {name}", err=True)
        sys.exit(1)
    click.echo(str(st.kubeconfig))


for _command in REMOTE_COMMANDS:
    cluster.add_command(_command)
