"""``gitloop serve --config FILE``: the API, the webhooks, the pipeline scheduler and the reconcile loop
in one process (see ``docs/serve.md``).

Exit codes: 0 after a graceful stop (SIGTERM or Ctrl-C), 2 for a configuration mistake (the message
names ``file:line`` and the field; nothing was started), 1 when the server could not start otherwise
(its port in use, store unreachable, git repository of the Applications unreachable). The server
itself lives in ``gitloop.api`` and ``gitloop.service.server``, imported only when the command runs.
"""

from __future__ import annotations

import sys

import click

from gitloop.errors import UsageError

_LEVELS = ("debug", "info", "warning", "error")


@click.command()
@click.option(
    "--config",
    "config_file",
    required=True,
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="The serve configuration (YAML, kind ServeConfig).",
)
@click.option(
    "--database-url",
    metavar="URL",
    help="The store, overriding the file's databaseURL (default: SQLite in the state directory).",
)
@click.option("--log-level", type=click.Choice(_LEVELS), default="info", show_default=True)
def serve(config_file: str, database_url: str | None, log_level: str) -> None:
    """Serve webhooks and the API; run PipelineRuns and reconcile Applications until stopped."""
    import asyncio
    import logging

    from gitloop.spec.serveconfig import load

    config = load(config_file)
    try:
        from gitloop.api.serve import serve as run
    except ImportError as exc:
        raise UsageError(
            f"gitloop serve needs FastAPI and uvicorn ({exc.name} is missing): "
            'pip install fastapi "uvicorn[standard]"'
        ) from exc
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )

    def ready(url: str) -> None:
        hooks = ", ".join(f"{url}/hooks/{entry.name}" for entry in config.listeners) or "none"
        click.echo(f"gitloop serve: listening on {url}", nl=True)
        click.echo(f"  EventListeners: {hooks}")
        click.echo(f"  push webhook (refresh): {url}/api/webhook   API: {url}/api   health: {url}/healthz")
        sys.stdout.flush()

    asyncio.run(run(config, database_url=database_url, on_ready=ready))
    click.echo("gitloop serve: stopped")
