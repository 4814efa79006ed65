"""``gitloop trace SOURCE_SHA``: the path of one source commit to a Healthy Application, timed.

Prints the commit's author and message (as its push carried them, when it did), then each hop
recorded in the store — the push, the PipelineRun (queued, started, finished, with the image it built), the config commit that carried the image, each sync operation at that commit and the
moment each Application was first Healthy, and the post-sync pipelines that followed — with its time and its offset from the commit, then the
lead time for the change. ``-o json`` prints the same as JSON. Exit 2 when nothing is recorded for
the commit (or a prefix is ambiguous).
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from gitloop.lineage import Trace


def _when(value: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(value)) + f".{int(value * 1000) % 1000:03d}"


def _seconds(value: float) -> str:
    if abs(value) < 60:
        return f"{value:.3f}s"
    minutes, seconds = divmod(value, 60)
    return f"{int(minutes)}m{seconds:06.3f}s"


def _short(sha: object) -> str:
    return str(sha or "")[:12]


def _what(hop: dict[str, Any]) -> tuple[str, str]:
    kind = str(hop.get("hop", ""))
    if kind == "commit":
        return "committed", _short(hop.get("commit"))
    if kind == "push":
        return "pushed", f"{hop.get('ref', '')} -> EventListener {hop.get('listener', '')}"
    if kind == "pipelinerun":
        return "run queued", str(hop.get("run", ""))
    if kind == "pipelinerun-started":
        return "run started", str(hop.get("run", ""))
    if kind == "pipelinerun-finished":
        image = f", image {hop['image']}" if hop.get("image") else ""
        return "run finished", f"{hop.get('run', '')} {hop.get('reason') or hop.get('status', '')}{image}"
    if kind == "config-commit":
        by = f" by {hop['pipelineRun']}" if hop.get("pipelineRun") else ""
        image = f" sets {hop['image']}" if hop.get("image") else ""
        return "config commit", f"{_short(hop.get('commit'))}{image}{by}"
    if kind == "sync":
        return "synced", f"{hop.get('app', '')} at {_short(hop.get('revision'))}: {hop.get('phase', '')}"
    if kind == "healthy":
        return "healthy", f"{hop.get('app', '')} at {_short(hop.get('revision'))}"
    if kind == "post-sync":
        return "post-sync", f"{hop.get('app', '')}: {hop.get('run', '')} queued"
    if kind == "post-sync-started":
        return "post-sync run", f"{hop.get('run', '')} started"
    if kind == "post-sync-finished":
        return "post-sync done", f"{hop.get('run', '')} {hop.get('reason') or hop.get('status', '')}"
    return kind, ""


def render(found: Trace) -> str:
    """The trace as the terminal shows it."""
    lines = [f"source commit {found.source}" + (f" ({found.repo})" if found.repo else "")]
    if found.author_name and found.author_email:
        lines.append(f"Author: {found.author_name} <{found.author_email}>")
    elif found.author_name or found.author_email:
        lines.append(f"Author: {found.author_name or found.author_email}")
    if found.message:
        lines += ["", *(f"    {line}".rstrip() for line in found.message.splitlines()), ""]
    start = found.hops[0]["time"] if found.hops else 0.0
    for hop in found.hops:
        at = float(hop.get("time") or 0.0)
        label, detail = _what(hop)
        lines.append(f"  {_when(at)}  +{_seconds(at - start):>10}  {label:<14} {detail}")
    if found.lead_time is None:
        lines.append(
            "lead time for the change: not deployed yet (no Healthy Application at its config commit)"
        )
    else:
        origin = "commit" if found.started_from == "commit" else "push"
        lines.append(f"lead time for the change: {_seconds(found.lead_time)} ({origin} -> first Healthy)")
        if len(found.per_app) > 1:
            for app, seconds in sorted(found.per_app.items(), key=lambda item: item[1]):
                lines.append(f"  {app}: {_seconds(seconds)}")
    return "\n".join(lines)


@click.command()
@click.argument("sha")
@click.option("--database-url", metavar="URL", help="The store (default: SQLite in the state directory).")
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def trace(sha: str, database_url: str | None, output: str) -> None:
    """Show how source commit SHA (or a prefix) travelled to the cluster, and its lead time."""
    from gitloop.service.lineage import open_lineage

    lineage = open_lineage(database_url)
    try:
        found = lineage.trace(sha)
    finally:
        lineage.store.close()
    click.echo(json.dumps(found.to_dict(), indent=2) if output == "json" else render(found))
