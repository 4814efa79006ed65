"""``gitloop login`` and ``gitloop logout``: a session with a ``gitloop serve``, as ``argocd login``.

``login --server URL`` asks the server for a session token (``POST /api/v1/session``) with
``--username`` (asked when not given) and the password from ``--password-file FILE`` (``-``: standard
input; one trailing newline dropped) or, on a terminal, a hidden prompt; the token is kept in the saved
logins (``gitloop.service.logins``: a 0600 file) and sent by every later command that talks to that server
without ``--auth-token``. ``logout --server URL`` ends the session on the server and forgets it. The
password and the token are never printed.
"""

from __future__ import annotations

import sys

import click

from gitloop.cli.account import read_password
from gitloop.cli.client_tls import client_tls, server_options
from gitloop.errors import GitloopError, UsageError


def _password(password_file: str | None) -> str:
    if password_file:
        password = read_password(password_file)
    elif sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True)
    else:
        raise UsageError("give the password with --password-file FILE (or - for standard input)")
    if not password:
        raise UsageError("the password is empty")
    return password


@click.command()
@server_options(help="The gitloop serve to log in to (default: $GITLOOP_SERVER).", required=True)
@click.option("--username", metavar="NAME", help="The account (asked when not given).")
@click.option("--password-file", metavar="FILE", help="Read the password from FILE (- for standard input).")
def login(server: str, auth_token: str | None, username: str | None, password_file: str | None) -> None:
    """Log in to a gitloop serve and keep the session for later commands."""
    from gitloop.service.client import ApiClient
    from gitloop.service.logins import save_login

    del auth_token  # a login makes its own
    name = username or click.prompt("Username")
    with ApiClient(server, "", tls=client_tls()) as client:
        token = client.login(name, _password(password_file))
    where = save_login(server, name, token)
    click.echo(f"logged in to {server.rstrip('/')} as {name!r} (session kept in {where})")


@click.command()
@server_options(help="The gitloop serve to log out of (default: $GITLOOP_SERVER).", required=True)
def logout(server: str, auth_token: str | None) -> None:
    """End the session with a gitloop serve and forget it."""
    from gitloop.service.client import ApiClient
    from gitloop.service.logins import forget_login

    token = forget_login(server)
    if token is None:
        raise UsageError(f"not logged in to {server.rstrip('/')}")
    try:
        with ApiClient(server, token, tls=client_tls()) as client:
            client.logout()
    except GitloopError as exc:  # forgotten here either way; the session ends by itself when it expires
        click.echo(f"warning: the server did not end the session: {exc}", err=True)
    click.echo(f"logged out of {server.rstrip('/')}")
