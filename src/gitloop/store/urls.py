"""Which database a ``--database-url`` names, and how it is shown: a file path or ``sqlite:///PATH``
means SQLite, ``postgresql://`` / ``postgres://`` / ``postgresql+psycopg://`` mean PostgreSQL through
psycopg 3. Passwords never appear in anything this package prints or raises.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from gitloop.errors import UsageError

_POSTGRES_DRIVERS = {"postgres", "postgresql", "postgresql+psycopg"}
_SQLITE_DRIVERS = {"sqlite", "sqlite+pysqlite"}
_SECRET_QUERY_KEYS = {"password", "sslpassword"}
_MASK = "***"
# A query value rendered through URL quoting would turn "***" into "%2A%2A%2A"; this survives quoting.
_QUERY_PLACEHOLDER = "__gitloop_masked__"
_USERINFO = re.compile(r"(?P<head>://[^/@:]*:)[^/@]*@")
_HELP = "use a file path, sqlite:///PATH or postgresql://USER:PASSWORD@HOST[:PORT]/DATABASE"


def database_url(url_or_path: str) -> URL:
    """The SQLAlchemy URL for ``url_or_path``, normalised to the drivers gitloop ships with.

    ``UsageError`` (whose message never holds the password) for anything else."""
    text = url_or_path.strip()
    if not text:
        raise UsageError(f"no database given: {_HELP}")
    if "://" not in text:
        if text == ":memory:":
            raise UsageError("an in-memory SQLite database cannot be shared between threads: use a file path")
        return URL.create("sqlite+pysqlite", database=str(Path(text).expanduser().absolute()))
    try:
        url = make_url(text)
    except (ArgumentError, ValueError) as exc:
        raise UsageError(f"not a database URL: {mask_text(text)}: {_HELP}") from exc
    if url.drivername in _POSTGRES_DRIVERS:
        if not url.database:
            raise UsageError(f"{masked(url)}: the URL names no database: {_HELP}")
        return url.set(drivername="postgresql+psycopg")
    if url.drivername in _SQLITE_DRIVERS:
        if not url.database or url.database == ":memory:":
            raise UsageError(f"{masked(url)}: SQLite needs a file: {_HELP}")
        return url.set(drivername="sqlite+pysqlite")
    raise UsageError(f"unsupported database URL {masked(url)}: {_HELP}")


def masked(url: URL) -> str:
    """``url`` as text with its password (and any password query parameter) shown as ``***``."""
    query = {k: (_QUERY_PLACEHOLDER if k.lower() in _SECRET_QUERY_KEYS else v) for k, v in url.query.items()}
    shown = url.set(query=query).render_as_string(hide_password=True)
    return shown.replace(_QUERY_PLACEHOLDER, _MASK)


def mask_text(text: str) -> str:
    """Best-effort masking of a URL-like string that could not be parsed."""
    return _USERINFO.sub(lambda m: f"{m.group('head')}{_MASK}@", text)


def scrub(message: str, url: URL) -> str:
    """``message`` with every secret of ``url`` replaced by ``***`` (drivers may echo them back)."""
    secrets = [url.password] if isinstance(url.password, str) else []
    secrets += [v for k, v in url.query.items() if k.lower() in _SECRET_QUERY_KEYS and isinstance(v, str)]
    for secret in secrets:
        if secret:
            message = message.replace(secret, _MASK)
    return message
