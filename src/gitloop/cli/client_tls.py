"""The flags of every verb that talks to a server: ``server_options`` gives ``--server URL``
(``$GITLOOP_SERVER``), ``--auth-token`` (``$GITLOOP_AUTH_TOKEN``) and the client's TLS flags,
``--server-ca FILE`` (``$GITLOOP_SERVER_CA``) and ``--insecure-skip-tls-verify`` (argocd's ``--insecure``).

``with_client_tls(option)`` adds both next to a command's ``--server`` option; they are not parameters
of the command but land in the click context, and ``client_tls()`` reads them back where the
``ApiClient`` is built (``ApiClient(server, token, tls=client_tls())``), so no verb passes them along.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.decorators import FC

if TYPE_CHECKING:
    from gitloop.service.client import ClientTLS

_KEY = "gitloop.client_tls"


def _remember(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        ctx.meta.setdefault(_KEY, {})[name] = value

    return callback


def with_client_tls(option: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``option`` (a command's ``--server``) followed by the client's TLS flags."""

    def decorate(command: Any) -> Any:
        command = click.option(
            "--insecure-skip-tls-verify",
            is_flag=True,
            expose_value=False,
            callback=_remember("insecure"),
            help="Do not check the server's TLS certificate (argocd's --insecure; not for production).",
        )(command)
        command = click.option(
            "--server-ca",
            envvar="GITLOOP_SERVER_CA",
            metavar="FILE",
            type=click.Path(dir_okay=False),
            expose_value=False,
            callback=_remember("ca"),
            help="Trust this CA (or the server's self-signed certificate) for an https:// server "
            "(default: $GITLOOP_SERVER_CA; else the system's CAs).",
        )(command)
        return option(command)

    return decorate


def client_tls_options(command: FC) -> FC:
    """The client's TLS flags on ``command`` (whose ``--server`` option is declared elsewhere)."""
    decorated: FC = with_client_tls(lambda same: same)(command)
    return decorated


def server_options(*, help: str, required: bool = False) -> Callable[[FC], FC]:
    """``--server`` (``help`` says what the server is to this verb), the client's TLS flags and
    ``--auth-token``: one definition for every verb that talks to a server."""

    def decorate(command: FC) -> FC:
        command = click.option(
            "--auth-token",
            envvar="GITLOOP_AUTH_TOKEN",
            metavar="TOKEN",
            help="The server's API token (default: $GITLOOP_AUTH_TOKEN).",
        )(command)
        command = client_tls_options(command)
        decorated: FC = click.option(
            "--server", envvar="GITLOOP_SERVER", metavar="URL", required=required, help=help
        )(command)
        return decorated

    return decorate


def client_tls() -> ClientTLS:
    """The TLS flags of the running command (``$GITLOOP_SERVER_CA`` outside one)."""
    from gitloop.service.client import ClientTLS

    ctx = click.get_current_context(silent=True)
    given: dict[str, Any] = ctx.meta.get(_KEY, {}) if ctx is not None else {}
    ca = given.get("ca") if ctx is not None else os.environ.get("GITLOOP_SERVER_CA")
    return ClientTLS(Path(ca) if ca else None, bool(given.get("insecure")))
