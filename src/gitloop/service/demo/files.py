"""The demo's files, shipped as package data under ``content/`` and filled in for this machine.

``content/app_source`` is the app-source repository (a tiny Python web app, its unit tests and a
Containerfile), ``content/app_config`` the app-config repository (Kustomize base and overlays dev,
staging and prod), ``content/ci`` the EventListener, the CI Pipeline and the post-sync Pipeline,
``content/apps`` one Argo CD Application per environment, and ``content/serve.yaml`` the
``gitloop serve`` configuration. ``{{NAME}}`` placeholders are filled in by ``fill``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib import resources
from importlib.resources.abc import Traversable

from gitloop.errors import InfraError

PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")
_SKIPPED = ("__pycache__",)


def _root() -> Traversable:
    return resources.files("gitloop.service.demo").joinpath("content")


def tree(folder: str) -> dict[str, str]:
    """Every file under ``content/<folder>`` (a file name for a single file), by relative path."""
    found: dict[str, str] = {}

    def walk(node: Traversable, prefix: str) -> None:
        for entry in sorted(node.iterdir(), key=lambda e: e.name):
            if entry.name in _SKIPPED or entry.name.endswith(".pyc"):
                continue
            if entry.is_dir():
                walk(entry, f"{prefix}{entry.name}/")
            else:
                found[f"{prefix}{entry.name}"] = entry.read_text(encoding="utf-8")

    top = _root().joinpath(folder)
    if top.is_file():
        return {folder: top.read_text(encoding="utf-8")}
    if not top.is_dir():
        raise InfraError(f"the demo's content {folder!r} is missing from the gitloop package")
    walk(top, "")
    return found


def fill(text: str, values: Mapping[str, str], *, where: str) -> str:
    """``text`` with every ``{{NAME}}`` replaced by ``values[NAME]``; an unknown name is an error."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise InfraError(f"the demo's {where} uses {{{{{name}}}}}, which has no value")
        return values[name]

    return PLACEHOLDER.sub(one, text)


def filled(folder: str, values: Mapping[str, str]) -> dict[str, str]:
    """The files of ``folder`` with their placeholders filled in."""
    return {path: fill(text, values, where=f"{folder}/{path}") for path, text in tree(folder).items()}
