"""``gitloop app``: Argo CD Applications from YAML files, reconciled against a cluster without a server.

Every command reads the Applications (and AppProjects) of ``-f FILE|DIR`` and deploys to the clusters of
``--kubeconfig`` (else ``$KUBECONFIG``): ``destination.name`` is a context, ``destination.server`` a
context's server URL, the current context also ``in-cluster``; status and history are kept in
``--database-url`` (default: SQLite in the state directory). Commands mirror ``argocd app``: ``list``, ``get`` (sync and health per
resource), ``diff`` (exit 0 no difference, 1 differences, 2 error), ``sync``, ``wait``, ``history``,
``rollback``, ``manifests``, ``refresh`` and ``watch`` (the reconcile loop). The logic lives in
``gitloop.gitops.engine`` (wired by ``gitloop.service.apps``); this module parses flags and prints.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

from gitloop.errors import GitloopError

if TYPE_CHECKING:
    from gitloop.gitops.engine import Engine
    from gitloop.gitops.operation import SyncOperation
    from gitloop.gitops.status import AppStatus
    from gitloop.ports import HistoryEntry
    from gitloop.service.apps import AppsConfig
    from gitloop.spec.argocd import Application

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def _common(command: F) -> F:
    options = [
        click.option(
            "-f",
            "--filename",
            "paths",
            multiple=True,
            required=True,
            metavar="PATH",
            help="An Application/AppProject YAML file or a directory of them; repeatable.",
        ),
        click.option(
            "--kubeconfig",
            metavar="FILE",
            help="The clusters to deploy to, one per context (default: $KUBECONFIG).",
        ),
        click.option(
            "--database-url", metavar="URL", help="The store (default: SQLite in the state directory)."
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _config(
    paths: tuple[str, ...], kubeconfig: str | None, database_url: str | None, **extra: Any
) -> AppsConfig:
    from gitloop.service.apps import AppsConfig

    return AppsConfig(paths=paths, kubeconfig=kubeconfig, database_url=database_url, **extra)


def _with_apps(config: AppsConfig, work: Callable[[Engine], Awaitable[T]]) -> T:
    from gitloop.service.apps import open_apps

    async def main() -> T:
        async with open_apps(config) as apps:
            return await work(apps)

    return asyncio.run(main())


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    cells = [list(headers), *[list(r) for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers) - 1)]
    lines = ["  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[-1]]) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def _short(revisions: Sequence[str]) -> str:
    return ",".join(r[:7] for r in revisions) or "-"


def _policy(app: Application) -> str:
    automated = app.sync_policy.automated
    if automated is None or not automated.enabled:
        return "Manual"
    flags = [n for n, on in (("Prune", automated.prune), ("SelfHeal", automated.self_heal)) if on]
    return f"Automated ({', '.join(flags)})" if flags else "Automated"


def _health(resource_health: Any) -> str:
    return "" if resource_health is None else resource_health.status.value


def _describe(app: Application, status: AppStatus) -> str:
    source = app.source
    lines = [
        ("Name", app.name),
        ("Project", app.project),
        ("Server", app.destination.server or app.destination.name),
        ("Namespace", app.destination.namespace),
        ("Repo", source.repo_url),
        ("Target", source.target_revision),
        ("Path", source.path or source.chart),
        ("Sync Policy", _policy(app)),
        ("Sync Status", f"{status.sync_status} to {source.target_revision} ({_short(status.revisions)})"),
        (
            "Health Status",
            str(status.health.status) + (f" ({status.health.message})" if status.health.message else ""),
        ),
    ]
    if status.auto_sync_paused_at:
        lines.append(
            ("Auto-sync", f"paused after a rollback until git moves past {status.auto_sync_paused_at[:7]}")
        )
    text = "\n".join(f"{k + ':':<17}{v}" for k, v in lines)
    if status.conditions:
        text += "\n\nCONDITION\n" + "\n".join(f"{c.type.value}: {c.message}" for c in status.conditions)
    op = status.operation
    if op is not None:
        who = "automated" if op.automated else (op.username or "user")
        text += f"\n\nLast operation:   {op.phase} ({who}, {_short(op.revisions)}): {op.message}"
    rows = [
        [
            r.key.group,
            r.key.kind,
            r.key.namespace,
            r.key.name,
            r.status.value + (" (prune)" if r.requires_pruning else ""),
            _health(r.health),
            r.message,
        ]
        for r in status.resources
    ]
    return text + "\n\n" + _table(["GROUP", "KIND", "NAMESPACE", "NAME", "STATUS", "HEALTH", "MESSAGE"], rows)


def _operation(operation: SyncOperation) -> str:
    rows = [
        [
            r["group"],
            r["kind"],
            r["namespace"],
            r["name"],
            r["status"] or "",
            r["hookType"] or "",
            r["syncPhase"],
            str(r["wave"]),
            r["message"],
        ]
        for r in operation.results()
    ]
    summary = operation.summary()
    head = f"Operation {summary.id}: {summary.phase}"
    if operation.retry_count:
        head += f" after {operation.retry_count} retries"
    head += f"\nRevision: {_short(summary.revisions)}\nMessage: {summary.message}"
    table = _table(["GROUP", "KIND", "NAMESPACE", "NAME", "STATUS", "HOOK", "PHASE", "WAVE", "MESSAGE"], rows)
    return f"{head}\n\n{table}" if rows else head


@click.group()
def app() -> None:
    """Argo CD Applications: diff, sync, wait, history, rollback, and the reconcile loop."""


@app.command("list")
@_common
@click.option("-o", "--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
def list_apps(paths: tuple[str, ...], kubeconfig: str | None, database_url: str | None, output: str) -> None:
    """Every Application with its sync and health status (refreshed)."""

    async def work(apps: Engine) -> list[tuple[Application, AppStatus]]:
        return [(apps.apps.app(n), await apps.refresh(n)) for n in apps.names()]

    found = _with_apps(_config(paths, kubeconfig, database_url), work)
    if output == "json":
        click.echo(json.dumps([s.to_dict() for _, s in found], indent=2))
        return
    rows = [
        [
            a.name,
            a.project,
            a.destination.server or a.destination.name,
            a.destination.namespace,
            str(s.sync_status),
            str(s.health.status),
            _short(s.revisions),
            ",".join(c.type.value for c in s.conditions),
        ]
        for a, s in found
    ]
    click.echo(
        _table(["NAME", "PROJECT", "CLUSTER", "NAMESPACE", "SYNC", "HEALTH", "REVISION", "CONDITIONS"], rows)
    )


@app.command()
@_common
@click.argument("name")
@click.option("-o", "--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
def get(
    name: str, paths: tuple[str, ...], kubeconfig: str | None, database_url: str | None, output: str
) -> None:
    """An Application's status, with sync status and health per resource."""
    status = _with_apps(_config(paths, kubeconfig, database_url), lambda apps: apps.refresh(name))
    if output == "json":
        click.echo(json.dumps(status.to_dict(), indent=2))
        return
    from gitloop.spec.argocd import load_apps

    click.echo(_describe(load_apps(paths).app(name), status))


@app.command()
@_common
@click.argument("names", nargs=-1)
def refresh(
    names: tuple[str, ...], paths: tuple[str, ...], kubeconfig: str | None, database_url: str | None
) -> None:
    """Fetch git and compare again (all Applications when none is named)."""

    async def work(apps: Engine) -> list[AppStatus]:
        return [await apps.refresh(n) for n in apps.names(names)]

    for status in _with_apps(_config(paths, kubeconfig, database_url), work):
        conditions = "; ".join(f"{c.type.value}: {c.message}" for c in status.conditions)
        line = f"{status.name}: {status.sync_status} ({_short(status.revisions)}), {status.health.status}"
        click.echo(f"{line}{'  ' + conditions if conditions else ''}")


@app.command()
@_common
@click.argument("name")
def diff(name: str, paths: tuple[str, ...], kubeconfig: str | None, database_url: str | None) -> None:
    """Unified diff of live against desired; exit 0 no difference, 1 differences, 2 error."""
    from gitloop.gitops.diff import colorize, unified_diff

    try:
        refreshed = _with_apps(_config(paths, kubeconfig, database_url), lambda apps: apps.comparison(name))
    except GitloopError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    comparison = refreshed.comparison
    if comparison is None:
        for condition in refreshed.status.conditions:
            click.echo(f"error: {condition.type.value}: {condition.message}", err=True)
        sys.exit(2)
    texts = [unified_diff(r.diff) for r in comparison.resources if r.diff is not None and r.diff.counts]
    texts = [t for t in texts if t]
    out = "".join(f"===== {t.splitlines()[0][6:]} ======\n{t}" for t in texts)
    if out:
        click.echo(colorize(out) if sys.stdout.isatty() else out, nl=False)
    sys.exit(1 if comparison.out_of_sync else 0)


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
    paths: tuple[str, ...],
    kubeconfig: str | None,
    database_url: str | None,
    prune: bool,
    dry_run: bool,
    force: bool,
    resources: tuple[str, ...],
    revision: str | None,
) -> None:
    """Sync an Application now and wait for the operation to finish (exit 1 if it failed)."""
    from gitloop.gitops.operation import SyncRequest
    from gitloop.service.apps import local_user

    request = SyncRequest.manual(
        revision=revision,
        prune=prune,
        dry_run=dry_run,
        force=force,
        resources=resources,
        username=local_user(),
    )
    operation = _with_apps(_config(paths, kubeconfig, database_url), lambda apps: apps.sync(name, request))
    click.echo(_operation(operation))
    if operation.phase.value != "Succeeded":
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
def wait(
    name: str,
    paths: tuple[str, ...],
    kubeconfig: str | None,
    database_url: str | None,
    health: bool,
    synced: bool,
    timeout: float,
) -> None:
    """Wait until an Application is Healthy and/or Synced (both when neither flag is given)."""
    both = not (health or synced)
    status = _with_apps(
        _config(paths, kubeconfig, database_url),
        lambda apps: apps.wait(name, health=health or both, sync=synced or both, timeout=timeout),
    )
    click.echo(f"{name}: {status.sync_status} ({_short(status.revisions)}), {status.health.status}")


@app.command()
@_common
@click.argument("name")
def history(name: str, paths: tuple[str, ...], kubeconfig: str | None, database_url: str | None) -> None:
    """The Application's sync history, oldest first (IDs are what rollback takes)."""

    async def work(apps: Engine) -> list[HistoryEntry]:
        return apps.history(name)

    rows = [_history_row(entry) for entry in _with_apps(_config(paths, kubeconfig, database_url), work)]
    click.echo(_table(["ID", "DATE", "REVISION", "INITIATED BY", "PHASE", "NOTE", "COMMIT"], rows))


def _history_row(entry: HistoryEntry) -> list[str]:
    doc: dict[str, Any] = dict(entry.doc)
    who = doc.get("initiatedBy") or {}
    by = "automated" if who.get("automated") else str(who.get("username", ""))
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(doc.get("finishedAt") or entry.time)))
    rollback = doc.get("rollbackOf")
    note = f"rollback to {rollback}" if rollback is not None else ""
    commit = doc.get("sourceCommit") or {}
    message = str(commit.get("message", "")).splitlines()[0] if commit.get("message") else ""
    return [
        str(entry.id),
        when,
        str(doc.get("revision", ""))[:12],
        by,
        str(doc.get("phase", "")),
        note,
        message,
    ]


@app.command()
@_common
@click.argument("name")
@click.argument("history_id", metavar="[ID]", type=int, required=False)
@click.option(
    "--disable-auto-sync", is_flag=True, help="Pause auto-sync until a new commit arrives, then roll back."
)
@click.option("--prune", is_flag=True, help="Delete resources the older revision does not have.")
def rollback(
    name: str,
    history_id: int | None,
    paths: tuple[str, ...],
    kubeconfig: str | None,
    database_url: str | None,
    disable_auto_sync: bool,
    prune: bool,
) -> None:
    """Sync back to a history entry (default: the one before the last)."""
    from gitloop.service.apps import local_user

    operation = _with_apps(
        _config(paths, kubeconfig, database_url),
        lambda apps: apps.rollback(
            name, history_id, disable_auto_sync=disable_auto_sync, prune=prune, username=local_user()
        ),
    )
    click.echo(_operation(operation))
    if operation.phase.value != "Succeeded":
        sys.exit(1)


@app.command()
@_common
@click.argument("name")
@click.option("--source", type=click.Choice(["git", "live"]), default="git", show_default=True)
def manifests(
    name: str, paths: tuple[str, ...], kubeconfig: str | None, database_url: str | None, source: str
) -> None:
    """The manifests gitloop applies (``git``) or the live objects it tracks (``live``), as YAML."""
    import yaml

    found = _with_apps(
        _config(paths, kubeconfig, database_url), lambda apps: apps.manifests(name, live=source == "live")
    )
    click.echo(yaml.safe_dump_all(found, sort_keys=False), nl=False)


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
    poll_interval: float,
    wave_delay: float,
) -> None:
    """Reconcile every Application continuously until interrupted (Ctrl-C)."""
    config = _config(paths, kubeconfig, database_url, poll_interval=poll_interval, wave_delay=wave_delay)

    def show(status: AppStatus) -> None:
        op = status.operation
        parts = [
            time.strftime("%H:%M:%S"),
            status.name,
            str(status.sync_status),
            str(status.health.status),
            _short(status.revisions),
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

    _with_apps(config, work)
