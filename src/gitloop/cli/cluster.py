"""``gitloop cluster``: build, start, stop and inspect local Kubernetes control planes."""

from __future__ import annotations

import sys
import time

import click
from rich.console import Console

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


@click.group()
def cluster() -> None:
    """A real local Kubernetes control plane (etcd, apiserver, controllers, hollow nodes) on 127.0.0.1."""


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
