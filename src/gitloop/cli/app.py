"""``gitloop app``: Argo CD Applications, from YAML files in this process or from a ``gitloop serve``.

Local mode (``-f FILE|DIR``): every command reads the Applications (and AppProjects) of the files and
deploys to the clusters of ``--kubeconfig`` (else ``$KUBECONFIG``): ``destination.name`` is a context,
``destination.server`` a context's server URL, the current context also ``in-cluster``; status and
history are kept in ``--database-url`` (default: SQLite in the state directory). Server mode
(``--server URL``, default ``$GITLOOP_SERVER``; ``--auth-token``, default ``$GITLOOP_AUTH_TOKEN``): the
same commands ask the server's Argo CD-shaped ``/api/v1``, as ``argocd`` does; ``-f`` is then refused.
Both modes print from the same Argo CD JSON (``gitloop.cli.app_output``), so they print the same.

Commands mirror ``argocd app``: ``list``, ``get`` (sync and health per resource), ``diff`` (exit 0 no
difference, 1 differences, 2 error), ``sync``, ``wait``, ``history``, ``rollback``, ``manifests``,
``refresh`` and ``watch`` (the reconcile loop; local only); ``create``, ``set`` and ``delete`` change a
server's Applications (server only: ``gitloop.cli.app_lifecycle``). The logic lives in ``gitloop.gitops.engine``
(wired by ``gitloop.service.apps``) or in the server; this module parses flags and prints.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from gitloop.cli import app_output as out
from gitloop.cli.app_lifecycle import create, delete, set_app
from gitloop.cli.client_tls import client_tls, server_options
from gitloop.errors import GitloopError, UsageError
from gitloop.spec.yaml import load_json

if TYPE_CHECKING:
    from gitloop.cli.app_modes import Apps
    from gitloop.gitops.engine import Engine
    from gitloop.gitops.status import AppStatus

F = TypeVar("F", bound=Callable[..., Any])


def _common(command: F) -> F:
    options = [
        click.option(
            "-f",
            "--filename",
            "paths",
            multiple=True,
            metavar="PATH",
            help="An Application/AppProject YAML file or a directory of them; repeatable (local mode).",
        ),
        click.option(
            "--kubeconfig",
            metavar="FILE",
            help="The clusters to deploy to, one per context (default: $KUBECONFIG; local mode).",
        ),
        click.option(
            "--database-url",
            metavar="URL",
            help="The store (default: SQLite in the state directory; local mode).",
        ),
        server_options(
            help="Ask this gitloop server's API instead of reading -f files (default: $GITLOOP_SERVER)."
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _apps(
    paths: tuple[str, ...],
    kubeconfig: str | None,
    database_url: str | None,
    server: str | None,
    auth_token: str | None,
) -> Apps:
    """The mode the flags ask for: a server's API, or the engine over the ``-f`` files."""
    from gitloop.cli.app_modes import LocalApps, ServerApps

    if server:
        local = [
            f
            for f, given in (("-f", paths), ("--kubeconfig", kubeconfig), ("--database-url", database_url))
            if given
        ]
        if local:
            raise UsageError(
                f"{', '.join(local)} and a server (--server or $GITLOOP_SERVER) exclude each other: "
                "the server reads its own Applications, clusters and store"
            )
        from gitloop.service.client import ApiClient

        client = ApiClient(server, auth_token, tls=client_tls())
        click.get_current_context().call_on_close(client.close)
        return ServerApps(client)
    if not paths:
        raise click.UsageError("Missing option '-f' / '--filename' (or --server URL / $GITLOOP_SERVER).")
    from gitloop.service.apps import AppsConfig

    return LocalApps(AppsConfig(paths=paths, kubeconfig=kubeconfig, database_url=database_url))


@click.group()
def app() -> None:
    """Argo CD Applications: diff, sync, wait, history, rollback, and the reconcile loop.

    From Application files (-f) in this process, or from a gitloop server (--server URL or
    $GITLOOP_SERVER, with --auth-token or $GITLOOP_AUTH_TOKEN): the same output either way."""


Flags = Any
"""The five options of ``_common``, passed on to ``_apps`` as keywords."""


@app.command("list")
@_common
@click.option("-o", "--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
def list_apps(output: str, **flags: Flags) -> None:
    """Every Application with its sync and health status (refreshed)."""
    found = _apps(**flags).applications()
    click.echo(out.as_json(found) if output == "json" else out.app_table(found))


@app.command()
@_common
@click.argument("name")
@click.option("-o", "--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
def get(name: str, output: str, **flags: Flags) -> None:
    """An Application's status, with sync status and health per resource."""
    found = _apps(**flags).get(name)
    click.echo(out.as_json(found) if output == "json" else out.describe(found))


@app.command()
@_common
@click.argument("names", nargs=-1)
def refresh(names: tuple[str, ...], **flags: Flags) -> None:
    """Fetch git and compare again (all Applications when none is named)."""
    for found in _apps(**flags).refresh(names):
        click.echo(out.status_line(found, conditions=True))


@app.command()
@_common
@click.argument("name")
def diff(name: str, **flags: Flags) -> None:
    """Unified diff of live against desired; exit 0 no difference, 1 differences, 2 error."""
    from gitloop.gitops.diff import colorize

    try:
        items = _apps(**flags).managed_resources(name)
    except GitloopError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    text = out.diff_text(items)
    if text:
        click.echo(colorize(text) if sys.stdout.isatty() else text, nl=False)
    sys.exit(1 if out.differs(items) else 0)


@app.command()
@_common
@click.argument("name")
@click.option("--prune", is_flag=True, help="Delete resources that are no longer in git.")
@click.option("--dry-run", is_flag=True, help="Validate with server-side dry runs; change nothing.")
@click.option("--force", is_flag=True, help="Replace resources that must be re-created (Replace=true).")
@click.option(
    "--resource", "resources", multiple=True, metavar="GROUP:KIND:NAME", help="Sync only these; repeatable."
)
@click.option(
    "--revision", metavar="REV", help="Sync this branch, tag or commit instead of the target revision."
)
def sync(
    name: str,
    prune: bool,
    dry_run: bool,
    force: bool,
    resources: tuple[str, ...],
    revision: str | None,
    **flags: Flags,
) -> None:
    """Sync an Application now and wait for the operation to finish (exit 1 if it failed)."""
    found = _apps(**flags).sync(
        name, revision=revision, prune=prune, dry_run=dry_run, force=force, resources=resources
    )
    click.echo(out.operation(found))
    if not out.operation_succeeded(found):
        sys.exit(1)


@app.command()
@_common
@click.argument("name")
@click.option("--health", is_flag=True, help="Wait until Healthy.")
@click.option("--sync", "synced", is_flag=True, help="Wait until Synced.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=300.0,
    show_default=True,
    help="Seconds.",
)
def wait(name: str, health: bool, synced: bool, timeout: float, **flags: Flags) -> None:
    """Wait until an Application is Healthy and/or Synced (both when neither flag is given)."""
    both = not (health or synced)
    found = _apps(**flags).wait(name, health=health or both, sync=synced or both, timeout=timeout)
    click.echo(out.status_line(found))


@app.command()
@_common
@click.argument("name")
def history(name: str, **flags: Flags) -> None:
    """The Application's sync history, oldest first (IDs are what rollback takes)."""
    click.echo(out.history_table(_apps(**flags).application(name)))


@app.command()
@_common
@click.argument("name")
@click.argument("history_id", metavar="[ID]", type=int, required=False)
@click.option(
    "--disable-auto-sync",
    is_flag=True,
    help="Pause auto-sync until a new commit arrives, then roll back (local mode).",
)
@click.option("--prune", is_flag=True, help="Delete resources the older revision does not have.")
@click.option(
    "--revert",
    is_flag=True,
    help="Instead, push a git revert of the config commit that brought the current state; "
    "auto-sync (or a sync) applies it.",
)
def rollback(
    name: str, history_id: int | None, disable_auto_sync: bool, prune: bool, revert: bool, **flags: Flags
) -> None:
    """Sync back to a history entry (default: the one before the last), or with ``--revert`` revert
    the config commit in git."""
    if revert:
        if history_id is not None or disable_auto_sync or prune:
            raise UsageError("--revert takes no ID, --disable-auto-sync or --prune: git decides what syncs")
        reverted = _apps(**flags).revert(name)
        click.echo(out.reverted(reverted))
        return
    found = _apps(**flags).rollback(name, history_id, disable_auto_sync=disable_auto_sync, prune=prune)
    click.echo(out.operation(found))
    if not out.operation_succeeded(found):
        sys.exit(1)


@app.command()
@_common
@click.argument("name")
@click.option("--source", type=click.Choice(["git", "live"]), default="git", show_default=True)
def manifests(name: str, source: str, **flags: Flags) -> None:
    """The manifests gitloop applies (``git``) or the live objects it tracks (``live``), as YAML
    (keys sorted, Secret values masked)."""
    apps = _apps(**flags)
    if source == "live":
        found = out.live_states(apps.managed_resources(name))
    else:
        found = [load_json(m, source=f"manifest of {name}") for m in apps.manifests(name)]
    click.echo(out.manifests_yaml(found), nl=False)


@app.command()
@_common
@click.option(
    "--poll-interval",
    type=float,
    default=180.0,
    show_default=True,
    help="Seconds between git polls (jittered).",
)
@click.option("--wave-delay", type=float, default=0.0, show_default=True, help="Seconds between sync waves.")
def watch(
    paths: tuple[str, ...],
    kubeconfig: str | None,
    database_url: str | None,
    server: str | None,
    auth_token: str | None,
    poll_interval: float,
    wave_delay: float,
) -> None:
    """Reconcile every Application continuously until interrupted (Ctrl-C); local mode only."""
    from gitloop.service.apps import AppsConfig, open_apps

    if server:
        raise UsageError(
            "gitloop app watch runs the reconcile loop in this process and is local only: drop --server "
            "(or unset $GITLOOP_SERVER) and give -f FILE; a server reconciles its Applications by itself"
        )
    if not paths:
        raise click.UsageError("Missing option '-f' / '--filename'.")
    config = AppsConfig(
        paths=paths,
        kubeconfig=kubeconfig,
        database_url=database_url,
        poll_interval=poll_interval,
        wave_delay=wave_delay,
    )

    def show(status: AppStatus) -> None:
        op = status.operation
        parts = [
            time.strftime("%H:%M:%S"),
            status.name,
            str(status.sync_status),
            str(status.health.status),
            out.short(status.revisions),
        ]
        if op is not None:
            parts.append(f"op {op.phase}{' (self-heal)' if op.self_heal_attempts else ''}")
        parts += [f"{c.type.value}: {c.message}" for c in status.conditions]
        click.echo("  ".join(parts))

    async def work(apps: Engine) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        click.echo(
            f"reconciling {len(apps.apps.apps)} Applications (poll every {poll_interval:.0f}s); Ctrl-C stops"
        )
        apps.listeners.append(show)
        await apps.run(stop)

    async def main() -> None:
        async with open_apps(config) as apps:
            await work(apps)

    asyncio.run(main())


app.add_command(create)
app.add_command(set_app)
app.add_command(delete)
