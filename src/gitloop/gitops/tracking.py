"""Which Application owns a live object: the ``gitloop.dev/tracking-id`` annotation.

The value is ``<app>:<group>/<Kind>:<namespace>/<name>`` (group and namespace empty for the core
group and for cluster-scoped objects), as Argo CD's annotation tracking writes
``argocd.argoproj.io/tracking-id``. An object is tracked only when the identity in its annotation is
its own: a copy of a tracked object (``kubectl get -o yaml | kubectl apply``) under another name, or
a ReplicaSet or Pod a controller made from a tracked template, does not count, so gitloop never
prunes or diffs what it did not create.

``prepare`` turns a desired manifest into what gitloop applies: the tracking annotation added and,
for Kubernetes before 1.26 whose server-side apply rejects ports without a protocol (``associative
list with keys has an element that omits key field "protocol"``), ``protocol: TCP`` made explicit on
Service ports and on the container ports of Pods and of the pod templates of workloads. The server
defaults the same value, so nothing changes on the cluster; the comparison uses prepared manifests
too, so the added protocol is never drift.
"""

from __future__ import annotations

import copy
from typing import Any

from gitloop.gitops.diff import TRACKING_ANNOTATION
from gitloop.model.resources import Manifest, ResourceKey

__all__ = ["TRACKING_ANNOTATION", "parse_tracking_id", "prepare", "tracked_by", "tracking_id"]

_POD_TEMPLATE_KINDS = {
    ("apps", "Deployment"),
    ("apps", "StatefulSet"),
    ("apps", "DaemonSet"),
    ("apps", "ReplicaSet"),
    ("", "ReplicationController"),
    ("batch", "Job"),
    ("", "PodTemplate"),
}


def tracking_id(app: str, key: ResourceKey) -> str:
    """The annotation value marking ``key`` as owned by ``app``."""
    return f"{app}:{key.group}/{key.kind}:{key.namespace}/{key.name}"


def parse_tracking_id(value: str) -> tuple[str, ResourceKey] | None:
    """``(app, key)`` from an annotation value; ``None`` when it is not one gitloop writes."""
    app, sep, rest = value.partition(":")
    group_kind, sep2, where = rest.partition(":")
    if not (sep and sep2 and app):
        return None
    group, slash, kind = group_kind.partition("/")
    namespace, slash2, name = where.partition("/")
    if not (slash and slash2 and kind and name):
        return None
    return app, ResourceKey(group, kind, namespace, name)


def tracked_by(obj: Manifest) -> str | None:
    """The Application tracking ``obj``, or ``None`` when its annotation is absent or names another object."""
    meta = obj.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    value = annotations.get(TRACKING_ANNOTATION) if isinstance(annotations, dict) else None
    if not isinstance(value, str):
        return None
    parsed = parse_tracking_id(value)
    if parsed is None:
        return None
    app, key = parsed
    return app if key == ResourceKey.of(obj) else None


def prepare(manifest: Manifest, app: str) -> Manifest:
    """A copy of ``manifest`` as gitloop applies it: tracked by ``app``, ports with explicit protocols."""
    out = copy.deepcopy(manifest)
    meta = out.setdefault("metadata", {})
    annotations = meta.get("annotations")
    if not isinstance(annotations, dict):
        annotations = meta["annotations"] = {}
    annotations[TRACKING_ANNOTATION] = tracking_id(app, ResourceKey.of(out))
    group = str(out.get("apiVersion") or "").rpartition("/")[0]
    kind = str(out.get("kind") or "")
    spec = out.get("spec")
    if not isinstance(spec, dict):
        return out
    if (group, kind) == ("", "Service"):
        _default_protocol(spec.get("ports"))
    elif (group, kind) == ("", "Pod"):
        _pod_spec(spec)
    elif (group, kind) in _POD_TEMPLATE_KINDS:
        _template(spec)
    elif (group, kind) == ("batch", "CronJob"):
        job = spec.get("jobTemplate")
        if isinstance(job, dict) and isinstance(job.get("spec"), dict):
            _template(job["spec"])
    return out


def _template(spec: dict[str, Any]) -> None:
    template = spec.get("template")
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        _pod_spec(template["spec"])


def _pod_spec(spec: dict[str, Any]) -> None:
    for field in ("containers", "initContainers", "ephemeralContainers"):
        containers = spec.get(field)
        if isinstance(containers, list):
            for container in containers:
                if isinstance(container, dict):
                    _default_protocol(container.get("ports"))


def _default_protocol(ports: Any) -> None:
    if isinstance(ports, list):
        for port in ports:
            if isinstance(port, dict) and not port.get("protocol"):
                port["protocol"] = "TCP"
