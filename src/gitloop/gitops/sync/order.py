"""The order of a sync's tasks, as gitops-engine's ``syncTasks.Sort`` and prune wave rules have it.

Tasks run by phase (PreSync, Sync, PostSync, SyncFail), then wave (lowest first), then kind
(Helm's install order: Namespace, NetworkPolicy, … APIService; kinds not in that list — custom
resources — last), then name; gitloop breaks the remaining ties by namespace and group so the
order is total. After sorting, dependencies are moved ahead of their first user: a Namespace
ahead of the first task in that namespace, a CustomResourceDefinition ahead of the first object
of the kind it defines — taking that task's phase and wave, even if its own wave is later.

Prunes run in reverse wave order: the distinct waves of the prune tasks are mirrored (the lowest
prune wave swaps with the highest, and so on), so what was created last is deleted first. With
``PruneLast`` a prune moves to one wave after the last wave of the Sync phase (at least wave 1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from gitloop.gitops.sync.task import SyncTask
from gitloop.gitops.sync.types import SyncPhase

KIND_ORDER: tuple[str, ...] = (
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
)
"""Helm's install order, as gitops-engine copies it (by kind name, whatever the group)."""

_KIND_RANK = {kind: index - len(KIND_ORDER) for index, kind in enumerate(KIND_ORDER)}

CRD_GROUP = "apiextensions.k8s.io"


def kind_rank(kind: str) -> int:
    """Negative for the kinds of ``KIND_ORDER`` (Namespace lowest), 0 for every other kind."""
    return _KIND_RANK.get(kind, 0)


def sort_key(task: SyncTask) -> tuple[int, int, int, str, str, str]:
    k = task.key
    return (task.phase.rank, task.wave, kind_rank(k.kind), k.name, k.namespace, k.group)


def reverse_prune_waves(tasks: Sequence[SyncTask]) -> list[SyncTask]:
    """Mirror the waves of the prune tasks so higher waves are pruned first."""
    waves = sorted({t.wave for t in tasks if t.is_prune})
    mirrored = dict(zip(waves, reversed(waves), strict=True))
    return [replace(t, wave=mirrored[t.wave]) if t.is_prune else t for t in tasks]


def prune_last_wave(tasks: Sequence[SyncTask]) -> int:
    """The wave ``PruneLast`` prunes run in: one after the Sync phase's last wave, and at least 1."""
    return max([0, *(t.wave for t in tasks if t.phase is SyncPhase.SYNC)]) + 1


def _namespace_dependency(task: SyncTask) -> str | None:
    k = task.key
    return k.name if k.group == "" and k.kind == "Namespace" else None


def _namespace_reference(task: SyncTask) -> str | None:
    return task.key.namespace or None


def _crd_dependency(task: SyncTask) -> str | None:
    if task.key.group != CRD_GROUP or task.key.kind != "CustomResourceDefinition" or task.manifest is None:
        return None
    spec = task.manifest.get("spec")
    if not isinstance(spec, dict):
        return None
    group, names = spec.get("group"), spec.get("names")
    kind = names.get("kind") if isinstance(names, dict) else None
    if not isinstance(group, str) or not isinstance(kind, str):
        return None
    return f"{group}/{kind}"


def _kind_reference(task: SyncTask) -> str | None:
    return f"{task.key.group}/{task.key.kind}"


def _move_dependencies(
    tasks: list[SyncTask],
    dependency: Callable[[SyncTask], str | None],
    reference: Callable[[SyncTask], str | None],
) -> None:
    """Move each dependency ahead of the first earlier task referencing it, into that task's phase
    and wave. Prunes neither depend nor are depended on."""
    first: dict[str, int] = {}
    for i in range(len(tasks)):
        task = tasks[i]
        if task.manifest is None or task.is_prune:
            continue
        dep = dependency(task)
        if dep is not None:
            index = first.get(dep)
            if index is None:
                continue
            anchor = tasks[index]
            del tasks[i]
            tasks.insert(index, replace(task, phase=anchor.phase, wave=anchor.wave))
            for name, position in first.items():
                if position >= index:
                    first[name] = position + 1
        elif (ref := reference(task)) is not None and ref not in first:
            first[ref] = i


def sort_tasks(tasks: Sequence[SyncTask]) -> list[SyncTask]:
    """Sort by phase, wave, kind, name; then move Namespaces and CRDs ahead of their users."""
    ordered = sorted(tasks, key=sort_key)
    _move_dependencies(ordered, _namespace_dependency, _namespace_reference)
    _move_dependencies(ordered, _crd_dependency, _kind_reference)
    return ordered


def is_multi_step(tasks: Sequence[SyncTask]) -> bool:
    """Whether the (sorted) tasks span more than one phase and wave — then every wave waits for health."""
    if not tasks:
        return False
    first, last = tasks[0], tasks[-1]
    return (first.phase, first.wave) != (last.phase, last.wave)
