"""Plan one sync: from desired manifests, live objects and options to the ordered list of tasks.

This is gitops-engine's ``getSyncTasks`` without the cluster: every desired resource becomes an
apply task in the Sync phase (``CREATE``/``REPLACE`` under ``Replace=true``); every hook one task
per phase it runs in, its ``generateName`` resolved to a name of this operation and the hook
finalizer added; every tracked live object git no longer holds a prune task (``SKIP`` with a
PruneSkipped message when pruning is not enabled for the operation — "ignored (requires pruning)"
— or the object says ``Prune=false`` — "ignored (no prune)"). Then prune waves are mirrored,
``PruneLast`` prunes moved to a final wave, and the tasks ordered (``gitloop.gitops.sync.order``).

Objects without a namespace get the destination namespace, unless their kind is cluster-scoped
(``PlanInput.cluster_scoped``; a live object found without a namespace also settles it).
``CreateNamespace=true`` adds a PreSync task creating the destination namespace when it is missing
and git does not hold it. ``ApplyOutOfSyncOnly=true`` leaves out apply tasks of resources whose
sync status is Synced (hooks and prunes stay). A selective sync (``resources``) plans only the
selected resources and no hooks; so does ``skip_hooks`` (Argo CD's apply strategy) for hooks.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from gitloop.errors import SpecError
from gitloop.gitops.sync import annotation as notes
from gitloop.gitops.sync import hooks, order
from gitloop.gitops.sync.options import (
    PropagationPolicy,
    PruneMode,
    ResourceOptions,
    SyncOptions,
    combine,
    resource_options,
)
from gitloop.gitops.sync.selection import ResourceSelector, selected
from gitloop.gitops.sync.task import SyncTask
from gitloop.gitops.sync.types import SyncPhase, TaskAction
from gitloop.model.resources import Manifest, ResourceKey
from gitloop.model.sync import SyncStatus

CLUSTER_SCOPED: frozenset[tuple[str, str]] = frozenset(
    {
        ("", "Namespace"),
        ("", "Node"),
        ("", "PersistentVolume"),
        ("", "ComponentStatus"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("apiregistration.k8s.io", "APIService"),
        ("storage.k8s.io", "StorageClass"),
        ("storage.k8s.io", "CSIDriver"),
        ("storage.k8s.io", "CSINode"),
        ("storage.k8s.io", "VolumeAttachment"),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
        ("scheduling.k8s.io", "PriorityClass"),
        ("networking.k8s.io", "IngressClass"),
        ("node.k8s.io", "RuntimeClass"),
        ("policy", "PodSecurityPolicy"),
        ("certificates.k8s.io", "CertificateSigningRequest"),
        ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    }
)
"""Built-in cluster-scoped kinds as ``(group, kind)``; add a cluster's own with ``PlanInput.cluster_scoped``."""

MSG_REQUIRES_PRUNING = "ignored (requires pruning)"
MSG_NO_PRUNE = "ignored (no prune)"


@dataclass(frozen=True)
class NamespaceMetadata:
    """``spec.syncPolicy.managedNamespaceMetadata``: labels and annotations for a created namespace."""

    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PlanInput:
    """Everything one attempt of a sync is planned from (built by the driver from a ``SyncRequest``, a
    fresh comparison and the options)."""

    desired: Sequence[Manifest]
    """Rendered manifests from git, hooks included."""
    live: Sequence[Manifest] = ()
    """The live objects the Application tracks (hooks from earlier syncs included)."""
    namespace: str = ""
    """The destination namespace."""
    revision: str = ""
    started_at: int = 0
    """Start of the operation in Unix seconds (names of ``generateName`` hooks)."""
    options: SyncOptions = field(default_factory=SyncOptions)
    sync_status: Mapping[ResourceKey, SyncStatus] = field(default_factory=dict)
    """Per-resource comparison result, for ``ApplyOutOfSyncOnly``; a missing key counts as OutOfSync."""
    prune: bool = False
    """Whether this operation prunes (``argocd app sync --prune``, ``automated.prune``)."""
    dry_run: bool = False
    force: bool = False
    skip_hooks: bool = False
    resources: Sequence[ResourceSelector] = ()
    namespace_exists: bool = True
    """Whether the destination namespace exists (for ``CreateNamespace=true``)."""
    managed_namespace_metadata: NamespaceMetadata | None = None
    cluster_scoped: frozenset[tuple[str, str]] = CLUSTER_SCOPED


@dataclass(frozen=True)
class SyncPlan:
    """The ordered tasks of one sync and the settings its operation runs with."""

    tasks: tuple[SyncTask, ...]
    multi_step: bool = False
    """More than one phase or wave: each wave waits for the previous one to be healthy."""
    dry_run: bool = False
    propagation: PropagationPolicy = PropagationPolicy.FOREGROUND
    namespace_task: str | None = None
    """Id of the task creating the missing destination namespace, run before anything else."""
    unchanged: tuple[ResourceKey, ...] = ()
    """Resources ``ApplyOutOfSyncOnly`` left out because they are Synced."""
    revision: str = ""
    started_at: int = 0

    def task(self, task_id: str) -> SyncTask:
        for task in self.tasks:
            if task.id == task_id:
                return task
        raise KeyError(task_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tasks": [t.to_dict() for t in self.tasks],
            "multiStep": self.multi_step,
            "dryRun": self.dry_run,
            "propagation": self.propagation.value,
            "namespaceTask": self.namespace_task,
            "unchanged": [[k.group, k.kind, k.namespace, k.name] for k in self.unchanged],
            "revision": self.revision,
            "startedAt": self.started_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SyncPlan:
        return cls(
            tasks=tuple(SyncTask.from_dict(t) for t in data["tasks"]),
            multi_step=bool(data["multiStep"]),
            dry_run=bool(data["dryRun"]),
            propagation=PropagationPolicy(data["propagation"]),
            namespace_task=data["namespaceTask"],
            unchanged=tuple(ResourceKey(*k) for k in data["unchanged"]),
            revision=str(data["revision"]),
            started_at=int(data["startedAt"]),
        )


def _checked(manifest: Manifest) -> Manifest:
    if not isinstance(manifest, dict) or not manifest.get("apiVersion") or not manifest.get("kind"):
        raise SpecError("a manifest needs apiVersion and kind", obj=str(manifest)[:80])
    if not isinstance(manifest.get("metadata") or {}, dict):
        raise SpecError("expected an object", obj=notes.describe(manifest), field="metadata")
    return manifest


def _with_namespace(manifest: Manifest, request: PlanInput) -> Manifest:
    """The manifest with the destination namespace filled in where a namespaced object has none."""
    key = ResourceKey.of(manifest)
    if key.namespace or not request.namespace or (key.group, key.kind) in request.cluster_scoped:
        return manifest
    result = copy.deepcopy(manifest)
    result.setdefault("metadata", {})["namespace"] = request.namespace
    return result


def _without_namespace(key: ResourceKey) -> ResourceKey:
    return ResourceKey(key.group, key.kind, "", key.name)


class _Planner:
    def __init__(self, request: PlanInput) -> None:
        self.request = request
        self.options = request.options
        self.selective = bool(request.resources)
        self.live: dict[ResourceKey, Manifest] = {}
        for obj in request.live:
            self.live[ResourceKey.of(_checked(obj))] = obj
        self.defined_kinds = {dep for obj in request.desired if (dep := _crd_kind(_checked(obj))) is not None}

    def find_live(self, key: ResourceKey) -> tuple[ResourceKey, Manifest | None]:
        """The live object for a desired key; a cluster-scoped live object matches without namespace."""
        if key in self.live:
            return key, self.live[key]
        bare = _without_namespace(key)
        if key.namespace and bare in self.live:
            return bare, self.live[bare]
        return key, None

    def apply_task(
        self, phase: SyncPhase, key: ResourceKey, target: Manifest, live: Manifest | None
    ) -> SyncTask:
        target_opts = resource_options(target)
        live_opts = resource_options(live) if live is not None else ResourceOptions()
        eff = combine(self.options, target_opts, live_opts, force=self.request.force)
        action = TaskAction.APPLY
        force = eff.force
        if eff.replace:
            action = TaskAction.REPLACE if live is not None else TaskAction.CREATE
            if key.kind == "Namespace" or key.kind == "CustomResourceDefinition":
                force = False  # updated in place: re-creating would delete their contents
        return SyncTask(
            phase=phase,
            wave=hooks.wave(target),
            key=key,
            api_version=str(target["apiVersion"]),
            action=action,
            manifest=target,
            live=live is not None,
            server_side_apply=eff.server_side_apply and not self.request.dry_run,
            validate=eff.validate,
            force=force,
            skip_dry_run=eff.skip_dry_run or (key.group, key.kind) in self.defined_kinds,
        )

    def prune_task(self, key: ResourceKey, live: Manifest) -> SyncTask:
        eff = combine(self.options, ResourceOptions(), resource_options(live))
        action, message = TaskAction.PRUNE, ""
        if not self.request.prune:
            action, message = TaskAction.SKIP, MSG_REQUIRES_PRUNING
        elif eff.prune is PruneMode.FALSE:
            action, message = TaskAction.SKIP, MSG_NO_PRUNE
        return SyncTask(
            phase=SyncPhase.SYNC,
            wave=hooks.wave(live),
            key=key,
            api_version=str(live["apiVersion"]),
            action=action,
            live=True,
            prune_confirm=action is TaskAction.PRUNE and eff.prune is PruneMode.CONFIRM,
            message=message,
        )

    def hook_tasks(self, hook: Manifest) -> list[SyncTask]:
        tasks = []
        meta = hook.get("metadata") or {}
        for phase in hooks.sync_phases(hook):
            target = copy.deepcopy(hook)
            target_meta = target.setdefault("metadata", {})
            if not meta.get("name"):
                generate = meta.get("generateName")
                if not isinstance(generate, str) or not generate:
                    raise SpecError(
                        "a hook needs metadata.name or metadata.generateName", obj=notes.describe(hook)
                    )
                target_meta["name"] = hooks.hook_name(
                    generate, self.request.revision, phase, self.request.started_at
                )
                target_meta.pop("generateName", None)
            finalizers = target_meta.setdefault("finalizers", [])
            if notes.HOOK_FINALIZER not in finalizers:
                finalizers.append(notes.HOOK_FINALIZER)
            key, live = self.find_live(ResourceKey.of(target))
            task = self.apply_task(phase, key, target, live)
            tasks.append(replace(task, hook=True, delete_policies=hooks.delete_policies(hook)))
        return tasks

    def namespace_task(self, desired: Sequence[Manifest]) -> SyncTask | None:
        ns = self.request.namespace
        metadata = self.request.managed_namespace_metadata
        if not self.options.create_namespace or not ns:
            return None
        if any(ResourceKey.of(m) == ResourceKey("", "Namespace", "", ns) for m in desired):
            return None
        if self.request.namespace_exists and metadata is None:
            return None
        meta: dict[str, Any] = {"name": ns}
        if metadata is not None:
            meta["labels"] = dict(metadata.labels)
            meta["annotations"] = {**metadata.annotations, notes.SYNC_OPTIONS: "ServerSideApply=true"}
        manifest: Manifest = {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}
        return SyncTask(
            phase=SyncPhase.PRE_SYNC,
            wave=0,
            key=ResourceKey("", "Namespace", "", ns),
            api_version="v1",
            action=TaskAction.APPLY,
            manifest=manifest,
            live=self.request.namespace_exists,
            server_side_apply=metadata is not None and not self.request.dry_run,
        )

    def prunes_last(self, task: SyncTask) -> bool:
        if not task.is_prune:
            return False
        live = self.live.get(task.key)
        return self.options.prune_last or (live is not None and resource_options(live).prune_last)

    def plan(self) -> SyncPlan:
        request = self.request
        desired = [_with_namespace(_checked(m), request) for m in request.desired]
        resources: list[Manifest] = []
        hook_objects: list[Manifest] = []
        for obj in desired:
            if hooks.is_hook(obj):
                if hooks.sync_phases(obj):
                    hook_objects.append(obj)
            else:
                resources.append(obj)

        tasks: list[SyncTask] = []
        matched: set[ResourceKey] = set()
        for target in resources:
            key, live = self.find_live(ResourceKey.of(target))
            if key in matched:
                raise SpecError("the object is defined twice", obj=notes.describe(target))
            matched.add(key)
            if selected(key, request.resources):
                tasks += [self.apply_task(p, key, target, live) for p in hooks.sync_phases(target)]
        for key, live in self.live.items():
            if key in matched or not selected(key, request.resources) or hooks.is_hook(live):
                continue
            if hooks.sync_phases(live):
                tasks.append(self.prune_task(key, live))
        if not (request.skip_hooks or self.selective):
            for hook in hook_objects:
                tasks += self.hook_tasks(hook)
        namespace_task = self.namespace_task(desired)
        if namespace_task is not None:
            tasks.append(namespace_task)

        tasks = order.reverse_prune_waves(tasks)
        last = order.prune_last_wave(tasks)
        tasks = [replace(t, wave=last) if self.prunes_last(t) else t for t in tasks]
        tasks = order.sort_tasks(tasks)
        multi_step = order.is_multi_step(tasks)

        unchanged: list[ResourceKey] = []
        if self.options.apply_out_of_sync_only:
            kept = []
            for task in tasks:
                if (
                    not task.hook
                    and not task.is_prune
                    and task.live
                    and request.sync_status.get(task.key) is SyncStatus.SYNCED
                ):
                    unchanged.append(task.key)
                else:
                    kept.append(task)
            tasks = kept

        return SyncPlan(
            tasks=tuple(tasks),
            multi_step=multi_step,
            dry_run=request.dry_run,
            propagation=self.options.prune_propagation_policy,
            namespace_task=namespace_task.id
            if namespace_task is not None and not namespace_task.live
            else None,
            unchanged=tuple(unchanged),
            revision=request.revision,
            started_at=request.started_at,
        )


def _crd_kind(manifest: Manifest) -> tuple[str, str] | None:
    key = ResourceKey.of(manifest)
    if key.group != order.CRD_GROUP or key.kind != "CustomResourceDefinition":
        return None
    spec = manifest.get("spec")
    if not isinstance(spec, dict) or not isinstance(spec.get("names"), dict):
        return None
    group, kind = spec.get("group"), spec["names"].get("kind")
    return (group, kind) if isinstance(group, str) and isinstance(kind, str) else None


def plan_sync(request: PlanInput) -> SyncPlan:
    """The ordered tasks of one sync. ``SpecError`` for a manifest or annotation that does not validate."""
    return _Planner(request).plan()
