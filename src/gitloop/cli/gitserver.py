"""``gitloop gitserver``: a local git server over HTTP on 127.0.0.1, with push webhooks."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from gitloop.localinfra import gitdaemon
from gitloop.localinfra.gitdaemon import DaemonStatus, GitServerDaemon, ServeOptions
from gitloop.localinfra.gitserver import GitServer

F = TypeVar("F", bound=Callable[..., Any])

_file = click.Path(dir_okay=False, path_type=Path)


def _server_options(fn: F) -> F:
    options = [
        click.option(
            "--root",
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            help="Directory of the bare repositories [default: <state dir>/gitserver/repos].",
        ),
        click.option(
            "--port",
            default=0,
            show_default=True,
            type=click.IntRange(0, 65535),
            help="Port on 127.0.0.1; 0 picks a free one.",
        ),
        click.option(
            "--webhook-url", default=None, help="POST a GitHub-style push event here on every push."
        ),
        click.option(
            "--webhook-secret-file",
            type=_file,
            default=None,
            help="File holding the HMAC secret that signs push events (X-Hub-Signature-256).",
        ),
        click.option("--user", default=None, help="Require HTTP basic auth as this user."),
        click.option("--password-file", type=_file, default=None, help="File holding the user's password."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _options(
    root: Path | None,
    port: int,
    webhook_url: str | None,
    webhook_secret_file: Path | None,
    user: str | None,
    password_file: Path | None,
) -> ServeOptions:
    return ServeOptions(
        root=root if root is not None else GitServerDaemon().default_root(),
        port=port,
        webhook_url=webhook_url,
        webhook_secret_file=webhook_secret_file,
        user=user,
        password_file=password_file,
    )


def _describe(st: DaemonStatus) -> str:
    if st.info is None:
        return "git server: not running"
    info = st.info
    if st.state == "stale":
        return f"git server: stale state (process {info.process.pid} is gone); run 'gitloop gitserver down'"
    line = f"git server: running  url={info.url}  root={info.root}  pid={info.process.pid}"
    if info.user:
        line += f"  user={info.user}"
    if info.webhook_url:
        line += f"  webhook={info.webhook_url}"
    if not st.healthy:
        line += "  (not answering)"
    return line


@click.group()
def gitserver() -> None:
    """A local git server over HTTP on 127.0.0.1 (git http-backend), with push webhooks."""


@gitserver.command()
@_server_options
def up(**kwargs: Any) -> None:
    """Start the git server in the background (idempotent) and print its base URL."""
    options = _options(**kwargs)
    info, started = GitServerDaemon().up(options)
    if started:
        click.echo(f"git server is up (pid {info.process.pid}, repositories in {info.root})", err=True)
    else:
        click.echo(f"git server is already running (pid {info.process.pid})", err=True)
        if Path(info.root) != options.root.resolve():
            click.echo(
                f"note: it serves {info.root}; 'gitloop gitserver down' first to change options", err=True
            )
    click.echo(info.url)


@gitserver.command()
@_server_options
@click.option("--port-file", type=_file, default=None, hidden=True)
def serve(port_file: Path | None, **kwargs: Any) -> None:
    """Run the git server in the foreground until SIGTERM or Ctrl-C."""
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    def ready(server: GitServer) -> None:
        click.echo(server.url)

    gitdaemon.serve(_options(**kwargs), port_file=port_file, ready=ready)


@gitserver.command()
def down() -> None:
    """Stop the background git server (its own recorded process only) and remove its state."""
    if GitServerDaemon().down():
        click.echo("git server is down")
    else:
        click.echo("git server was not running")


@gitserver.command()
def status() -> None:
    """Show whether the git server runs; exit 1 if it does not."""
    st = GitServerDaemon().status()
    click.echo(_describe(st))
    if st.state != "running":
        sys.exit(1)


@gitserver.command("create-repo")
@click.argument("name")
@click.option("--exist-ok", is_flag=True, help="Do not fail if the repository exists.")
def create_repo(name: str, exist_ok: bool) -> None:
    """Create bare repository NAME (or OWNER/NAME) on the running server and print its clone URL."""
    click.echo(GitServerDaemon().create_repo(name, exist_ok=exist_ok))
