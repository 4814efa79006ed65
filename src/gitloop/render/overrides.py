"""Parameter overrides kept in git next to an app, as Argo CD's ``.argocd-source.yaml`` files.

Before rendering, ``.argocd-source.yaml`` and then ``.argocd-source-<app name>.yaml`` in the app
directory, when present, are merged into the source as JSON merge patches (RFC 7386: a mapping merges
key by key, ``null`` deletes, anything else replaces). Only the tool settings change: ``repoURL``,
``path``, ``targetRevision`` and ``chart`` keep the Application's values.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gitloop.errors import RenderError, SpecError
from gitloop.spec.yaml import load_one, read_text

_KEPT = ("repoURL", "path", "targetRevision", "chart")


def merge_source_overrides(app_dir: Path, source: Mapping[str, Any], app_name: str) -> dict[str, Any]:
    """``source`` with the app directory's override files merged in (a new mapping)."""
    merged: Any = copy.deepcopy(dict(source))
    names = [".argocd-source.yaml"] + ([f".argocd-source-{app_name}.yaml"] if app_name else [])
    for name in names:
        file = app_dir / name
        if not file.is_file():
            continue
        try:
            patch = load_one(read_text(file), source=name)
        except SpecError as exc:
            raise RenderError(str(exc)) from exc
        merged = merge_patch(merged, patch)
        if not isinstance(merged, dict):
            raise RenderError(f"{name}: the merged source is not a mapping")
    for key in _KEPT:
        if key in source:
            merged[key] = source[key]
        else:
            merged.pop(key, None)
    result: dict[str, Any] = merged
    return result


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch of ``target`` by ``patch``."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out
