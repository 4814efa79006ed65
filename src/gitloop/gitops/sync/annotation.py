"""The annotations that steer a sync, and how their values are read.

Values are read as gitops-engine reads them: a comma-separated annotation is split, each item
trimmed, empty items dropped and duplicates removed, keeping the first occurrence's order. Integers
(waves, hook weights) are plain decimal numbers with an optional sign, as Go's ``strconv.Atoi``
accepts; where Argo CD quietly falls back to 0 on anything else, gitloop raises ``SpecError``.
"""

from __future__ import annotations

import re

from gitloop.errors import SpecError
from gitloop.gitops import hook_rule
from gitloop.gitops.hook_rule import annotation_map as annotation_map
from gitloop.gitops.hook_rule import csv as csv
from gitloop.model.resources import Manifest, ResourceKey

SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
SYNC_WAVE = "argocd.argoproj.io/sync-wave"
HOOK = hook_rule.HOOK
HOOK_DELETE_POLICY = "argocd.argoproj.io/hook-delete-policy"
HOOK_FINALIZER = "argocd.argoproj.io/hook-finalizer"
HELM_HOOK = hook_rule.HELM_HOOK
HELM_HOOK_WEIGHT = "helm.sh/hook-weight"
HELM_HOOK_DELETE_POLICY = "helm.sh/hook-delete-policy"
HELM_RESOURCE_POLICY = "helm.sh/resource-policy"

_INTEGER = re.compile(r"[+-]?[0-9]+")


def values(manifest: Manifest, key: str) -> list[str]:
    """The items of the comma-separated annotation ``key``; ``[]`` when absent."""
    return csv(annotation_map(manifest).get(key, ""))


def integer(manifest: Manifest, key: str) -> int | None:
    """The integer annotation ``key``; ``None`` when absent; ``SpecError`` when not an integer."""
    text = annotation_map(manifest).get(key)
    if text is None:
        return None
    if not _INTEGER.fullmatch(text):
        raise SpecError(
            f"{text!r} is not an integer", obj=describe(manifest), field=f"metadata.annotations[{key}]"
        )
    return int(text)


def describe(manifest: Manifest) -> str:
    """How errors name an object: ``group/Kind namespace/name`` (``core`` for the core group)."""
    key = ResourceKey.of(manifest)
    if not key.name:
        meta = manifest.get("metadata")
        generate = meta.get("generateName") if isinstance(meta, dict) else None
        if isinstance(generate, str) and generate:
            key = ResourceKey(key.group, key.kind, key.namespace, f"{generate}*")
    return str(key)
