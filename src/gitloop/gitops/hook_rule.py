"""Which objects are sync hooks: the one rule, as gitops-engine's ``hook.IsHook`` and ``hook.Skip`` have it.

Both the sync planner (``gitops.sync.hooks``) and the health rules (a Pod of a hook is not long-running)
ask it. The ``argocd.argoproj.io/hook`` annotation is read as gitops-engine reads comma-separated
annotations (items trimmed, empty ones dropped, duplicates removed); values that are not hook types are
ignored here (the planner refuses them with a ``SpecError`` of its own).

- With the Argo CD annotation, an object is a hook unless ``Skip`` is its only hook type
  (``Skip`` and ``Skip,Skip`` are skipped, ``Skip,PreDelete`` is a hook).
- Without it, a ``helm.sh/hook`` annotation makes it a hook, except ``crd-install``.

Leaf module: it imports nothing of ``gitops`` so that ``health`` and ``sync`` can both use it.
"""

from __future__ import annotations

from gitloop.model.resources import Manifest

HOOK = "argocd.argoproj.io/hook"
HELM_HOOK = "helm.sh/hook"
HELM_CRD_INSTALL = "crd-install"
HOOK_TYPES = ("PreSync", "Sync", "PostSync", "SyncFail", "Skip", "PreDelete", "PostDelete")
"""Every value of ``argocd.argoproj.io/hook`` gitops-engine knows."""


def annotation_map(manifest: Manifest) -> dict[str, str]:
    """``metadata.annotations``, keeping only string values."""
    meta = manifest.get("metadata")
    found = meta.get("annotations") if isinstance(meta, dict) else None
    if not isinstance(found, dict):
        return {}
    return {str(k): v for k, v in found.items() if isinstance(v, str)}


def csv(value: str) -> list[str]:
    """The trimmed, non-empty, de-duplicated items of a comma-separated value, in order."""
    items: list[str] = []
    for part in value.split(","):
        item = part.strip()
        if item and item not in items:
            items.append(item)
    return items


def argo_types(manifest: Manifest) -> list[str]:
    """The known hook types ``argocd.argoproj.io/hook`` names (unknown values ignored)."""
    return [t for t in csv(annotation_map(manifest).get(HOOK, "")) if t in HOOK_TYPES]


def is_skipped(manifest: Manifest) -> bool:
    """Whether ``Skip`` is the object's only hook type: it is then neither applied nor pruned."""
    return argo_types(manifest) == ["Skip"]


def is_hook(manifest: Manifest) -> bool:
    """Whether the object is a hook (of any type, supported or not)."""
    found = annotation_map(manifest)
    if HOOK in found:
        return not is_skipped(manifest)
    helm = found.get(HELM_HOOK)
    return helm is not None and helm != HELM_CRD_INSTALL
