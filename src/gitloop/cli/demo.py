"""``gitloop demo``: the whole loop, live, on real local infrastructure (see ``gitloop.service.demo``)."""

from __future__ import annotations

import click

from gitloop.service import demo as demo_service


@click.command()
@click.option("--cluster", "cluster_name", default="demo", show_default=True, help="Local cluster name.")
@click.option("--nodes", default=1, show_default=True, type=click.IntRange(1, 20))
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=180.0,
    show_default=True,
    help="Seconds to wait for each stage.",
)
@click.option(
    "--port", default=0, type=click.IntRange(0, 65535), help="Port of the API [default: a free one]."
)
@click.option("--once", is_flag=True, help="Exit after one change went through the loop.")
@click.option("--no-promote", is_flag=True, help="Follow the change to dev only, not on to staging and prod.")
@click.option("--teardown", is_flag=True, help="Stop the cluster and the git server at the end.")
@click.option("--down", is_flag=True, help="Only stop what an earlier demo left running, and exit.")
def demo(
    cluster_name: str,
    nodes: int,
    timeout: float,
    port: int,
    once: bool,
    no_promote: bool,
    teardown: bool,
    down: bool,
) -> None:
    """Push a change through the whole loop: pipeline, image handoff, sync, Healthy, promotion.

    \b
    Brings up a local cluster and git server (app-source, app-config), starts gitloop serve with an
    EventListener and the Applications web-dev, web-staging and web-prod, commits a change to
    app-source and shows every hop live, then the timeline and the commit-to-Healthy time. Without
    --once it keeps serving until Ctrl-C.
    """
    if down:
        demo_service.down(cluster_name, click.echo)
        return
    options = demo_service.DemoOptions(
        cluster=cluster_name, nodes=nodes, timeout=timeout, port=port, promote=not no_promote
    )
    demo_service.run(options, click.echo, once=once, teardown=teardown)
