"""The RBAC vocabulary and policy lines of the access engine: ``RESOURCES``, ``PolicyLine``,
``parse_policy`` and ``BUILTIN_POLICY``.

They are defined in ``gitloop.spec.argocd.rbac_policy`` (the spec layer), so ``gitloop serve``'s
configuration can refuse a bad policy line when it is loaded; this module is their name for the engine.
"""

from __future__ import annotations

from gitloop.spec.argocd.rbac_policy import (
    ADMIN_ROLE,
    BUILTIN_POLICY,
    BUILTIN_POLICY_CSV,
    EFFECTS,
    PROJECT_SCOPED,
    READONLY_ROLE,
    RESOURCES,
    PolicyLine,
    parse_policy,
    role_names,
)

__all__ = [
    "ADMIN_ROLE",
    "BUILTIN_POLICY",
    "BUILTIN_POLICY_CSV",
    "EFFECTS",
    "PROJECT_SCOPED",
    "READONLY_ROLE",
    "RESOURCES",
    "PolicyLine",
    "parse_policy",
    "role_names",
]
