"""Argo CD's glob for RBAC resources, actions and objects (``*`` crosses ``/``, ``?``, classes, braces).

The matcher lives in ``gitloop.spec.argocd.rbac_glob`` so the policy parser, in the spec layer, checks
action globs with the same rule the enforcer matches with; this is its name in the access engine.
"""

from __future__ import annotations

from gitloop.spec.argocd.rbac_glob import check_glob, glob_match

__all__ = ["check_glob", "glob_match"]
