"""``gitloop account``: local accounts and their API tokens, worked on the store directly (as ``argocd
admin`` does), so a platform team can provision users from a script before or while a server runs.

The store is the one ``gitloop serve --config FILE`` uses (its ``databaseURL``/``databaseURLFile``, else
the state directory's SQLite file), or ``--database-url URL`` / ``$GITLOOP_DATABASE_URL``. Passwords are
read from a file (``-`` for stdin), never from the command line. ``token create`` prints the token alone
on stdout, once; its id goes to stderr. Every change is recorded in the audit trail as ``cli:<OS user>``.
The logic lives in ``gitloop.access``; this module reads flags and prints.
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from gitloop.access.accounts import Accounts
from gitloop.access.audit import AuditLog
from gitloop.access.names import validate_username
from gitloop.access.passwords import MAX_BYTES
from gitloop.access.tokens import Tokens, rfc3339
from gitloop.cli.app_output import table
from gitloop.errors import UsageError
from gitloop.ports import Store
from gitloop.spec.duration import parse_span

FC = TypeVar("FC", bound=Callable[..., Any])


def store_options(command: FC) -> FC:
    """``--config FILE`` and ``--database-url URL``: which store a command works on."""
    command = click.option(
        "--database-url",
        envvar="GITLOOP_DATABASE_URL",
        metavar="URL",
        help="The store (default: $GITLOOP_DATABASE_URL); or give --config.",
    )(command)
    decorated: FC = click.option(
        "--config",
        "config_file",
        metavar="FILE",
        type=click.Path(dir_okay=False),
        help="A serve configuration: work on the store `gitloop serve --config FILE` uses.",
    )(command)
    return decorated


@contextmanager
def opened_store(config_file: str | None, database_url: str | None) -> Iterator[Store]:
    """The store named by the flags, closed at the end; ``UsageError`` when neither flag is given."""
    if database_url:
        target = database_url
    elif config_file:
        from gitloop.service.server.wiring import database_target
        from gitloop.spec.serveconfig import load

        target = database_target(load(config_file))
    else:
        raise UsageError("give --config FILE (a serve configuration) or --database-url URL")
    from gitloop.store import open_store

    store = open_store(target)
    try:
        yield store
    finally:
        store.close()


def cli_user() -> str:
    """Who the audit trail says made a change from the command line: ``cli:<OS user>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def read_password(path: str) -> str:
    """The password in ``path`` (``-``: stdin), without one trailing newline."""
    try:
        if path == "-":
            raw = sys.stdin.buffer.read(MAX_BYTES + 3)
        else:
            with Path(path).open("rb") as handle:
                raw = handle.read(MAX_BYTES + 3)
    except OSError as exc:
        raise UsageError(f"--password-file {path}: cannot read: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"--password-file {path}: not UTF-8 text") from exc
    return text.removesuffix("\n").removesuffix("\r")


def parse_expiry(text: str | None) -> float | None:
    """Seconds until a token expires, from ``30d``, ``12h``, ``90m``...; ``None`` (never) for no flag
    or ``0``, as ``argocd account generate-token --expires-in``."""
    if text is None:
        return None
    try:
        seconds = parse_span(text)
    except ValueError as exc:
        raise UsageError(f"--expires-in {text!r}: expected a duration such as 30d, 12h or 90m") from exc
    if seconds < 0:
        raise UsageError(f"--expires-in {text!r}: must not be negative")
    return seconds or None


def _time(value: float | None) -> str:
    return rfc3339(value) if value is not None else "-"


@click.group()
def account() -> None:
    """Local accounts and their API tokens (works on the store directly)."""


@account.command("list")
@store_options
@click.option("-o", "--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
def list_accounts(config_file: str | None, database_url: str | None, output: str) -> None:
    """The accounts: name, enabled, password set, number of tokens."""
    with opened_store(config_file, database_url) as store:
        tokens = Tokens(store)
        rows = [(a, len(tokens.list(subject=a.name))) for a in Accounts(store).list()]
    if output == "json":
        click.echo(json.dumps([{**a.to_dict(), "tokens": n} for a, n in rows], indent=2))
        return
    lines = [(a.name, str(a.enabled).lower(), str(a.has_password).lower(), str(n)) for a, n in rows]
    click.echo(table(["NAME", "ENABLED", "PASSWORD", "TOKENS"], lines))


@account.command("create")
@click.argument("name")
@store_options
@click.option("--password-file", metavar="FILE", help="The password (- for stdin); without it, none is set.")
@click.option("--disabled", is_flag=True, help="Create the account disabled.")
def create(
    name: str, config_file: str | None, database_url: str | None, password_file: str | None, disabled: bool
) -> None:
    """Create the local account NAME."""
    validate_username(name)
    password = read_password(password_file) if password_file else None
    with opened_store(config_file, database_url) as store:
        Accounts(store).create(name, password, enabled=not disabled)
        AuditLog(store).record(user=cli_user(), action="accounts.create", object=name, source="cli")
    click.echo(f"account {name} created", err=True)


@account.command("passwd")
@click.argument("name")
@store_options
@click.option("--password-file", required=True, metavar="FILE", help="The new password (- for stdin).")
def passwd(name: str, config_file: str | None, database_url: str | None, password_file: str) -> None:
    """Set the password of NAME."""
    password = read_password(password_file)
    with opened_store(config_file, database_url) as store:
        Accounts(store).set_password(name, password)
        AuditLog(store).record(user=cli_user(), action="accounts.update-password", object=name, source="cli")
    click.echo(f"password of {name} updated", err=True)


@account.command("disable")
@click.argument("name")
@store_options
def disable(name: str, config_file: str | None, database_url: str | None) -> None:
    """Disable NAME: it can no longer log in, and its tokens are revoked."""
    with opened_store(config_file, database_url) as store:
        Accounts(store).set_enabled(name, False)
        revoked = Tokens(store).revoke_subject(name)
        details = {"tokensRevoked": revoked}
        AuditLog(store).record(
            user=cli_user(), action="accounts.disable", object=name, source="cli", details=details
        )
    click.echo(f"account {name} disabled; {revoked} token(s) revoked", err=True)


@account.command("enable")
@click.argument("name")
@store_options
def enable(name: str, config_file: str | None, database_url: str | None) -> None:
    """Enable NAME again."""
    with opened_store(config_file, database_url) as store:
        Accounts(store).set_enabled(name, True)
        AuditLog(store).record(user=cli_user(), action="accounts.enable", object=name, source="cli")
    click.echo(f"account {name} enabled", err=True)


@account.group("token")
def token() -> None:
    """API tokens of an account."""


def _existing(store: Store, name: str) -> None:
    if Accounts(store).get(validate_username(name)) is None:
        raise UsageError(f"account {name!r}: no such account")


@token.command("create")
@click.argument("name")
@store_options
@click.option("--expires-in", metavar="DURATION", help="e.g. 30d, 12h (default: never).")
@click.option(
    "--scope", "scopes", multiple=True, metavar="RESOURCE:ACTION", help="Limit the token (repeatable)."
)
@click.option("--description", default="", help="What the token is for.")
def create_token(
    name: str,
    config_file: str | None,
    database_url: str | None,
    expires_in: str | None,
    scopes: tuple[str, ...],
    description: str,
) -> None:
    """Create an API token for NAME: printed once, on stdout alone; its id on stderr."""
    seconds = parse_expiry(expires_in)
    with opened_store(config_file, database_url) as store:
        _existing(store, name)
        info, secret = Tokens(store).issue(
            name, kind="api", expires_in=seconds, scope=scopes, description=description
        )
        AuditLog(store).record(
            user=cli_user(),
            action="accounts.token.create",
            object=name,
            source="cli",
            details={"id": info.id, "scope": ",".join(info.scope), "expires": _time(info.expires)},
        )
    click.echo(f"token id: {info.id}", err=True)
    click.echo(secret)


@token.command("list")
@click.argument("name")
@store_options
@click.option("-o", "--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
def list_tokens(name: str, config_file: str | None, database_url: str | None, output: str) -> None:
    """The API tokens of NAME (never their secrets)."""
    with opened_store(config_file, database_url) as store:
        _existing(store, name)
        found = Tokens(store).list(subject=name)
    if output == "json":
        click.echo(json.dumps([t.to_dict() for t in found], indent=2))
        return
    rows = [
        (t.id, _time(t.issued), _time(t.expires), _time(t.last_used), ",".join(t.scope) or "*", t.description)
        for t in found
    ]
    click.echo(table(["ID", "ISSUED", "EXPIRES", "LAST USED", "SCOPE", "DESCRIPTION"], rows))


@token.command("revoke")
@click.argument("name")
@click.argument("token_id", metavar="ID")
@store_options
def revoke_token(name: str, token_id: str, config_file: str | None, database_url: str | None) -> None:
    """Revoke the token ID of NAME."""
    with opened_store(config_file, database_url) as store:
        if not Tokens(store).revoke(token_id, subject=name):
            raise UsageError(f"account {name!r} has no token {token_id!r}")
        AuditLog(store).record(
            user=cli_user(),
            action="accounts.token.revoke",
            object=name,
            source="cli",
            details={"id": token_id},
        )
    click.echo(f"token {token_id} of {name} revoked", err=True)
