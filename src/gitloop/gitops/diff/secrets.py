"""Masking of Secret values in anything shown to people, as Argo CD's ``HideSecretData`` does.

Every value under ``data`` (and ``stringData``) of a core ``Secret`` is replaced by plus signs. The
objects of one resource (desired, live, predicted) are masked together, key by key, so a diff still
tells *whether* a value changed without telling *what* it is: equal values get the same placeholder,
the first distinct value ``++++++++``, the next ``++++++++++++`` and so on. Annotations named in
``hide_annotations`` are masked the same way, and a ``last-applied-configuration`` annotation (which
would hold the values in clear) is replaced outright.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Sequence
from typing import Any

from gitloop.gitops.diff.normalize import LAST_APPLIED_ANNOTATION, group_kind
from gitloop.model.resources import Manifest

REPLACEMENT = "++++++++"


def is_secret(obj: Manifest | None) -> bool:
    return obj is not None and group_kind(obj) == ("", "Secret")


def mask_secrets(
    objects: Sequence[Manifest | None], hide_annotations: Collection[str] = ()
) -> list[Manifest | None]:
    """Copies of ``objects`` with Secret values masked; objects that are not Secrets are returned as is."""
    masked = [copy.deepcopy(obj) if is_secret(obj) else obj for obj in objects]
    secrets = [obj for obj in masked if obj is not None and is_secret(obj)]
    if not secrets:
        return masked
    for field in ("data", "stringData"):
        _hide([_mapping(obj, field) for obj in secrets])
    _hide([_annotations(obj) for obj in secrets], only=set(hide_annotations))
    for obj in secrets:
        annotations = _annotations(obj)
        if annotations is not None and LAST_APPLIED_ANNOTATION in annotations:
            annotations[LAST_APPLIED_ANNOTATION] = REPLACEMENT
    return masked


def _mapping(obj: Manifest, name: str) -> dict[str, Any] | None:
    value = obj.get(name)
    return value if isinstance(value, dict) else None


def _annotations(obj: Manifest) -> dict[str, Any] | None:
    meta = _mapping(obj, "metadata")
    return _mapping(meta, "annotations") if meta is not None else None


def _hide(maps: list[dict[str, Any] | None], only: set[str] | None = None) -> None:
    keys = sorted({key for values in maps if values is not None for key in values})
    for key in keys:
        if only is not None and key not in only:
            continue
        placeholders: dict[str, str] = {}
        for values in maps:
            if values is None or key not in values:
                continue
            spelled = repr(values[key])
            if spelled not in placeholders:
                placeholders[spelled] = REPLACEMENT + "++++" * len(placeholders)
            values[key] = placeholders[spelled]
