"""Notifications in Argo CD's model: the catalog's triggers with ``oncePer``, templates, subscription
annotations and default subscriptions, and deliveries kept in the store, retried with backoff and never
sent twice. ``Notifications`` (``engine.py``) composes them over ``Service`` ports (``ports.py``); the
services themselves are the adapters in ``gitloop.notifiers``."""

from gitloop.notify.deliveries import Delivery, DeliveryBook
from gitloop.notify.engine import Notifications
from gitloop.notify.ports import Service
from gitloop.notify.triggers import CATALOG, Event, Trigger

__all__ = ["CATALOG", "Delivery", "DeliveryBook", "Event", "Notifications", "Service", "Trigger"]
