"""The store adapter: ``gitloop.ports.Store`` on SQLAlchemy Core (a SQLite file, or PostgreSQL for
several replicas), plus ``MemoryStore``, the in-memory fake of the same port for engine tests.

The composition layer picks the database: ``open_store(path_or_url)``; the default path
(``<state dir>/gitloop.db``) is its choice, not this package's.
"""

from __future__ import annotations

from gitloop.store.memory import MemoryStore
from gitloop.store.sql import SqlStore, open_store
from gitloop.store.urls import database_url, masked

__all__ = ["MemoryStore", "SqlStore", "database_url", "masked", "open_store"]
