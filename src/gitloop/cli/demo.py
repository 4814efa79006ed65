"""``gitloop demo``: the main job, end to end on real local infrastructure."""

from __future__ import annotations

import click

from gitloop.service import demo as demo_service


@click.command()
@click.option("--cluster", "cluster_name", default="demo", show_default=True, help="Local cluster name.")
@click.option("--nodes", default=1, show_default=True, type=click.IntRange(1, 20))
@click.option("--timeout", default=180.0, show_default=True, help="Seconds to wait for each stage.")
@click.option("--teardown", is_flag=True, help="Stop the cluster and git server at the end.")
def demo(cluster_name: str, nodes: int, timeout: float, teardown: bool) -> None:
    """Bring up a local cluster and git server, commit an app to a config repo, apply it from git."""
    try:
        result = demo_service.run(cluster_name=cluster_name, nodes=nodes, timeout=timeout, say=click.echo)
        click.echo("\nResources:")
        for key, status, message in result.resources:
            click.echo(f"  {key!s:40} {status.value if status else '-':12} {message}")
        click.echo("\nTimeline (seconds since start):")
        for hop, at in result.timeline.hops:
            click.echo(f"  {at:7.2f}  {hop}")
        total = result.timeline.hops[-1][1]
        committed = next(at for hop, at in result.timeline.hops if hop.startswith("config commit"))
        click.echo(
            f"\nconfig commit → Healthy: {total - committed:.2f}s   (total, infrastructure included: {total:.1f}s)"
        )
        if not teardown:
            click.echo(
                f"\nStill running: KUBECONFIG={result.cluster.kubeconfig}  git: {result.git_url}\n"
                f"Stop with: gitloop cluster down --name {cluster_name} && gitloop gitserver down"
            )
    finally:
        if teardown:
            demo_service.teardown(cluster_name)
