"""The engine's side of App of Apps: what a parent's comparison reads, what its sync registers.

``Parents`` is composed by the Engine (``gitloop.gitops.engine``) and is the ``ChildRegistrar`` the
sync driver registers a parent's children through: ``register(parent, children, prune=...)`` hands the
Applications and AppProjects to ``Engine.replace_owned("app:<parent>", ...)`` (created and changed ones
are then reconciled on their own; the ones git no longer holds are deleted only when the sync prunes,
each with its own finalizers deciding whether its resources go) and the ApplicationSets to the
``appset_children`` hooks (called with ``(owner, manifests)``; ``[]`` when they are pruned). ``release``
does the same with nothing given and pruning: a parent's cascading deletion. ``compare`` is what the
refresher folds into a parent's comparison (``gitloop.gitops.appofapps.compare_children``).

The ApplicationSets a parent handed over are remembered in memory: after a restart they show
OutOfSync until the parent syncs again.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

from gitloop.gitops import appofapps
from gitloop.gitops.applications import Applications
from gitloop.gitops.appofapps import Children
from gitloop.gitops.status import AppStatus, Condition, ResourceStatus
from gitloop.model.health import HealthResult
from gitloop.model.resources import Manifest
from gitloop.spec.argocd import Application, AppProject

_log = logging.getLogger(__name__)

AppSetHook = Callable[[str, list[Manifest]], Awaitable[None] | None]
"""Told ``(owner, manifests)``: the ApplicationSets ``owner`` holds now (``[]``: none any more)."""


class ReplaceOwned(Protocol):
    """``Engine.replace_owned``."""

    def __call__(
        self,
        owner: str,
        apps: Iterable[Application],
        projects: Iterable[AppProject] = (),
        *,
        prune: bool = True,
    ) -> Awaitable[object]: ...


class Parents:
    """Children of App of Apps parents: compared, registered, released."""

    def __init__(
        self,
        apps: Applications,
        status_of: Callable[[str], AppStatus],
        replace_owned: ReplaceOwned,
    ) -> None:
        self.apps = apps
        self._status_of = status_of
        self._replace_owned = replace_owned
        self.appset_children: list[AppSetHook] = []
        self._appsets: dict[str, dict[str, Manifest]] = {}
        self._owners_key: tuple[int, int] = (-1, -1)
        self._owners: frozenset[str] = frozenset()

    def _holds_children(self, owner: str) -> bool:
        """Whether ``owner`` registered anything (the set of owners is recomputed only when the set of
        names changes: most Applications are no parent, and their refreshes stay O(1))."""
        key = (self.apps.version, len(self.apps.projects))
        if key != self._owners_key:
            apps, projects = self.apps.apps, self.apps.projects
            found = {self.apps.owner_of(n) for n in apps} | {self.apps.project_owner(n) for n in projects}
            self._owners = frozenset(o for o in found if o)
            self._owners_key = key
        return owner in self._owners or owner in self._appsets

    def health(self, name: str) -> HealthResult | None:
        """A registered Application's own health; ``None`` before its first comparison."""
        status = self._status_of(name)
        return status.health if status.reconciled_at else None

    def compare(self, parent: str, children: Children) -> tuple[list[ResourceStatus], list[Condition]]:
        """``parent``'s children as its resources, and the conditions they raise."""
        owner = appofapps.owner(parent)
        if not (children.keys or children.repeated or self._holds_children(owner)):
            return [], []
        given = self._appsets.get(owner, {})
        return appofapps.compare_children(parent, children, self.apps, self.health, given)

    async def register(self, parent: str, children: Children, *, prune: bool) -> None:
        """Make ``parent``'s children ``children``; the ones no longer given go only with ``prune``."""
        owner = appofapps.owner(parent)
        if children.apps or children.projects or self._holds_children(owner):
            done = await self._replace_owned(owner, children.apps, children.projects, prune=prune)
            _log.info("%s: children registered: %s", parent, done)
        given = {str(m["metadata"]["name"]): m for m in children.appsets}
        before = self._appsets.get(owner, {})
        chosen = given if prune else {**before, **given}
        if not chosen and not before:
            return
        self._appsets[owner] = chosen
        if not chosen:
            del self._appsets[owner]
        for hook in self.appset_children:
            outcome = hook(owner, list(chosen.values()))
            if inspect.isawaitable(outcome):
                await outcome

    async def release(self, parent: str) -> None:
        """Delete every child of ``parent`` (its cascading deletion)."""
        await self.register(parent, Children(), prune=True)

    def parent_of(self, name: str) -> str | None:
        """The parent that registered the Application ``name``, if one did."""
        held = self.apps.owner_of(name) or ""
        prefix = appofapps.owner("")
        return held[len(prefix) :] if held.startswith(prefix) else None
