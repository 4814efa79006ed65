"""Sync hooks: which objects are hooks, in which phases and wave they run, when they are deleted.

Rules as gitops-engine ``pkg/sync/hook`` and Argo CD's Helm support have them:

- ``argocd.argoproj.io/hook`` names the hook types, comma-separated. When it names at least one
  type, ``helm.sh/hook`` is ignored; otherwise Helm's hooks are mapped: ``pre-install`` and
  ``pre-upgrade`` → PreSync, ``post-install`` and ``post-upgrade`` → PostSync, ``pre-delete`` →
  PreDelete, ``post-delete`` → PostDelete. ``crd-install`` is not a hook (the CRD is an ordinary
  resource); the other Helm hooks (``test``, ``test-success``, ``test-failure``, ``pre-rollback``,
  ``post-rollback``) are unsupported, and a hook without a supported type is left out of the sync
  altogether: neither applied nor pruned.
- ``Skip`` alone makes an object no hook and no resource: it is neither applied nor pruned.
- PreDelete and PostDelete hooks run on Application deletion, never in a sync.
- The wave is ``argocd.argoproj.io/sync-wave``, else ``helm.sh/hook-weight``, else 0 — for any
  object, hook or not.
- Delete policies are the union of ``argocd.argoproj.io/hook-delete-policy`` and the mapped
  ``helm.sh/hook-delete-policy`` (``before-hook-creation``, ``hook-succeeded``, ``hook-failed``);
  BeforeHookCreation when neither names one.
- A hook with ``metadata.generateName`` gets a name per operation: the generated prefix, the first
  seven characters of the synced revision, the phase and the operation's start time in Unix
  seconds, lower-cased (``migrate-3f2c1ab-presync-1700000000``), so a resumed operation computes
  the same names.

gitloop raises ``SpecError`` for an unknown ``argocd.argoproj.io/hook`` or
``hook-delete-policy`` value (Argo CD ignores it, which silently drops the object from the sync);
unknown Helm values are ignored as Argo CD ignores them.
"""

from __future__ import annotations

from gitloop.errors import SpecError
from gitloop.gitops import hook_rule
from gitloop.gitops.sync import annotation as notes
from gitloop.gitops.sync.types import HookDeletePolicy, HookType, SyncPhase
from gitloop.model.resources import Manifest

HELM_HOOK_TYPES: dict[str, HookType] = {
    "pre-install": HookType.PRE_SYNC,
    "pre-upgrade": HookType.PRE_SYNC,
    "post-install": HookType.POST_SYNC,
    "post-upgrade": HookType.POST_SYNC,
    "pre-delete": HookType.PRE_DELETE,
    "post-delete": HookType.POST_DELETE,
}
"""Helm hooks Argo CD supports, and the Argo CD hook type each maps to."""

HELM_DELETE_POLICIES: dict[str, HookDeletePolicy] = {
    "before-hook-creation": HookDeletePolicy.BEFORE_HOOK_CREATION,
    "hook-succeeded": HookDeletePolicy.HOOK_SUCCEEDED,
    "hook-failed": HookDeletePolicy.HOOK_FAILED,
}

HELM_CRD_INSTALL = hook_rule.HELM_CRD_INSTALL


def _argo_types(manifest: Manifest) -> list[HookType]:
    found: list[HookType] = []
    for text in notes.values(manifest, notes.HOOK):
        try:
            found.append(HookType(text))
        except ValueError:
            allowed = ", ".join(t.value for t in HookType)
            raise SpecError(
                f"unknown hook type {text!r} (expected {allowed})",
                obj=notes.describe(manifest),
                field=f"metadata.annotations[{notes.HOOK}]",
            ) from None
    return found


def hook_types(manifest: Manifest) -> tuple[HookType, ...]:
    """The hook types of an object: Argo CD's annotation, else the mapped Helm hooks; may be empty."""
    types = _argo_types(manifest)
    if not types:
        types = [HELM_HOOK_TYPES[t] for t in notes.values(manifest, notes.HELM_HOOK) if t in HELM_HOOK_TYPES]
    return tuple(dict.fromkeys(types))


def is_skipped(manifest: Manifest) -> bool:
    """Whether ``Skip`` is the object's only hook type (``gitloop.gitops.hook_rule``)."""
    return hook_rule.is_skipped(manifest)


def is_hook(manifest: Manifest) -> bool:
    """Whether the object is a hook (of any type, supported or not): ``gitloop.gitops.hook_rule``."""
    return hook_rule.is_hook(manifest)


def sync_phases(manifest: Manifest) -> tuple[SyncPhase, ...]:
    """The phases the object runs in during a sync, in order.

    ``(Sync,)`` for an ordinary resource; the phases of its hook types for a hook — none for a hook
    without a sync type (PreDelete, PostDelete, unsupported Helm hooks) and none for ``Skip``.
    """
    if is_skipped(manifest):
        return ()
    if not is_hook(manifest):
        return (SyncPhase.SYNC,)
    phases = {t.sync_phase for t in hook_types(manifest)} - {None}
    return tuple(sorted((p for p in phases if p is not None), key=lambda p: p.rank))


def delete_policies(manifest: Manifest) -> tuple[HookDeletePolicy, ...]:
    """The hook's delete policies; ``(BeforeHookCreation,)`` when none is given."""
    found: list[HookDeletePolicy] = []
    for text in notes.values(manifest, notes.HOOK_DELETE_POLICY):
        try:
            found.append(HookDeletePolicy(text))
        except ValueError:
            allowed = ", ".join(p.value for p in HookDeletePolicy)
            raise SpecError(
                f"unknown hook delete policy {text!r} (expected {allowed})",
                obj=notes.describe(manifest),
                field=f"metadata.annotations[{notes.HOOK_DELETE_POLICY}]",
            ) from None
    found += [
        HELM_DELETE_POLICIES[t]
        for t in notes.values(manifest, notes.HELM_HOOK_DELETE_POLICY)
        if t in HELM_DELETE_POLICIES
    ]
    return tuple(dict.fromkeys(found)) or (HookDeletePolicy.BEFORE_HOOK_CREATION,)


def wave(manifest: Manifest) -> int:
    """``argocd.argoproj.io/sync-wave``, else ``helm.sh/hook-weight``, else 0."""
    explicit = notes.integer(manifest, notes.SYNC_WAVE)
    if explicit is not None:
        return explicit
    weight = notes.integer(manifest, notes.HELM_HOOK_WEIGHT)
    return 0 if weight is None else weight


def hook_name(generate_name: str, revision: str, phase: SyncPhase, started_at: int) -> str:
    """The name a ``generateName`` hook gets in one operation, as Argo CD forms it."""
    short = revision[:7] if len(revision) >= 8 else revision
    return f"{generate_name}{f'{short}-{phase.value}-{started_at}'.lower()}"
