"""``gitloop serve --config FILE``: the API, the webhooks, the pipeline scheduler and the reconcile loop
in one process (see ``docs/serve.md``).

Exit codes: 0 after a graceful stop (SIGTERM or Ctrl-C), 2 for a configuration mistake (the message
names ``file:line`` and the field; nothing was started), 1 when the server could not start otherwise
(its port in use, store unreachable, git repository of the Applications unreachable). The server
itself lives in ``gitloop.api`` and ``gitloop.service.server``, imported only when the command runs.

HTTPS: ``tls:`` in the file or ``--tls-cert``/``--tls-key`` (the flags win); the certificate is
checked before anything starts and its SHA-256 fingerprint printed. ``allowRemote: true`` is refused
(exit 2) without TLS and authentication unless ``--insecure`` is given (Argo CD's flag name).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

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
@click.option(
    "--tls-cert",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Serve HTTPS with this PEM certificate (chain), overriding the file's tls; needs --tls-key.",
)
@click.option("--tls-key", metavar="FILE", type=click.Path(dir_okay=False), help="The certificate's PEM key.")
@click.option(
    "--insecure",
    is_flag=True,
    help="Allow allowRemote: true without TLS or without authentication (not for production).",
)
def serve(
    config_file: str,
    database_url: str | None,
    log_level: str,
    tls_cert: str | None,
    tls_key: str | None,
    insecure: bool,
) -> None:
    """Serve webhooks and the API; run PipelineRuns and reconcile Applications until stopped."""
    import asyncio
    import logging

    from gitloop.spec.serve_tls import TLSConfig
    from gitloop.spec.serveconfig import load, remote_refusal

    config = load(config_file)
    if tls_cert or tls_key:
        if not (tls_cert and tls_key):
            raise UsageError("--tls-cert and --tls-key go together: give both")
        config = replace(config, tls=TLSConfig(Path(tls_cert).absolute(), Path(tls_key).absolute()))
    refusal = remote_refusal(config, insecure=insecure)
    if refusal:
        raise UsageError(refusal)
    context, pin = None, ""
    if config.tls is not None:
        from gitloop.localinfra.paths import state_dir
        from gitloop.service.server.tls import served_certificate, server_context

        served = served_certificate(config.tls, config.host, state_dir())
        context, pin = server_context(served), served.fingerprint
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
        if pin:
            click.echo(f"  TLS certificate SHA-256 fingerprint: {pin}")
            logging.getLogger("gitloop.serve").info("TLS certificate SHA-256 fingerprint: %s", pin)
        if insecure and config.allow_remote:
            logging.getLogger("gitloop.serve").warning(
                "--insecure: serving beyond this machine as configured"
            )
        sys.stdout.flush()

    def admin_password(password: str) -> None:
        click.echo(
            f"\n  The account 'admin' was created with the password:\n\n      {password}\n\n"
            "  It is shown this once and kept only hashed: change it with gitloop account passwd admin.\n",
            err=True,
        )

    shown = admin_password if sys.stderr.isatty() else None  # never into a log file
    asyncio.run(
        run(config, database_url=database_url, on_ready=ready, ssl_context=context, on_admin_password=shown)
    )
    click.echo("gitloop serve: stopped")
