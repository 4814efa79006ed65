"""Opens the lineage engine over a store adapter: the store at a URL, or the local SQLite one."""

from __future__ import annotations

from gitloop.errors import UsageError
from gitloop.lineage import Lineage


def open_lineage(database_url: str | None = None) -> Lineage:
    """The lineage of the store at ``database_url`` (default: SQLite ``<state dir>/gitloop.db``)."""
    from gitloop.localinfra.paths import state_dir
    from gitloop.store import open_store

    if database_url:
        return Lineage(open_store(database_url))
    path = state_dir() / "gitloop.db"
    if not path.exists():
        raise UsageError(f"no store at {path}: nothing has been recorded yet (or give --database-url)")
    return Lineage(open_store(str(path)))
