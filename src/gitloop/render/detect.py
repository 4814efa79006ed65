"""Which tool renders a source, decided as Argo CD's repo-server decides it.

An explicit ``helm``, ``kustomize``, ``directory`` or ``plugin`` key in the source (any non-null
value, even ``{}``) wins, and more than one is an error. Otherwise the files directly in the app
directory decide: a file whose name ends in ``Chart.yaml`` means Helm, a ``kustomization.yaml``,
``kustomization.yml`` or ``Kustomization`` means Kustomize, and when both are there the one whose
name sorts last wins (so ``Chart.yaml`` loses to a kustomization), as Argo CD's walk in name order
does; with neither, the directory is plain manifests.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

from gitloop.errors import RenderError

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


class Tool(StrEnum):
    """Argo CD's ``ApplicationSourceType`` names."""

    HELM = "Helm"
    KUSTOMIZE = "Kustomize"
    DIRECTORY = "Directory"
    PLUGIN = "Plugin"


_EXPLICIT = (
    ("kustomize", Tool.KUSTOMIZE),
    ("helm", Tool.HELM),
    ("directory", Tool.DIRECTORY),
    ("plugin", Tool.PLUGIN),
)


def explicit_tool(source: Mapping[str, Any]) -> Tool | None:
    """The tool the source names, if it names one; ``RenderError`` if it names several."""
    named = [tool for key, tool in _EXPLICIT if source.get(key) is not None]
    if len(named) > 1:
        raise RenderError(f"multiple application sources defined: {','.join(named)}")
    return named[0] if named else None


def detect_tool(app_dir: Path, source: Mapping[str, Any]) -> Tool:
    """The tool for ``source`` whose files are in ``app_dir``."""
    named = explicit_tool(source)
    if named is not None:
        return named
    try:
        names = [entry.name for entry in app_dir.iterdir() if entry.is_file()]
    except OSError as exc:
        raise RenderError(f"cannot list {app_dir}: {exc.strerror or exc}") from exc
    found = Tool.DIRECTORY
    for name in sorted(names):  # in Argo CD the last match in name order wins
        if name.endswith("Chart.yaml"):
            found = Tool.HELM
        elif name in KUSTOMIZATION_FILES:
            found = Tool.KUSTOMIZE
    return found
