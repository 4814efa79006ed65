"""``gitloop serve`` composed: webhooks into the CI engine, push webhooks into the CD engine, the store.

``open_server(config)`` wires everything a ``ServeConfig`` names and yields a ``Server``, whose methods
the HTTP face (``gitloop.api``) calls. The engines are reached through two Protocols owned here
(``PipelineLauncher``, ``AppRefresher`` in ``engines``), adapted to the real engine services in ``ci``
and ``cd``; webhook replay protection is ``StoreDeliveryLog``; the lineage is ``gitloop.lineage`` (opened by ``gitloop.service.lineage``).
"""

from __future__ import annotations

from gitloop.service.server.deliveries import StoreDeliveryLog
from gitloop.service.server.engines import (
    LAUNCHABLE_KINDS,
    AppRefresher,
    Conflict,
    NotFound,
    PipelineLauncher,
    Push,
)
from gitloop.service.server.runtime import Answer, ServedListener, Server
from gitloop.service.server.wiring import database_target, open_server

__all__ = [
    "LAUNCHABLE_KINDS",
    "Answer",
    "AppRefresher",
    "Conflict",
    "NotFound",
    "PipelineLauncher",
    "Push",
    "ServedListener",
    "Server",
    "StoreDeliveryLog",
    "database_target",
    "open_server",
]
