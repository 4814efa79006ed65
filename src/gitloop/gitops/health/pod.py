"""Health of ``v1`` Pods, by Argo CD's rule.

A Pod that restarts forever (``restartPolicy: Always``) is Degraded as soon as a container waits with
an error reason (``Err*``, ``*Error``, ``*BackOff``, e.g. CrashLoopBackOff, ImagePullBackOff), Healthy
once Ready, Degraded when not Ready after a container terminated, Progressing otherwise. A Pod with
``Never`` or ``OnFailure`` runs to completion, like a Job (they are typically sync hooks): Progressing
while Running, Healthy once Succeeded. The annotation ``argocd.argoproj.io/ignore-restart-policy:
"true"`` assesses such a Pod like a long-running one, except when it is a hook. Phases: Pending →
Progressing, Succeeded → Healthy, Failed → Degraded with the best failure message found.

As in Argo CD, the rule reads ``restartPolicy`` as written: a manifest without it (the API server
defaults it to Always) is not treated as Always.
"""

from __future__ import annotations

from gitloop.gitops.health import _fields as f
from gitloop.gitops.hook_rule import is_hook
from gitloop.model.health import HealthResult, HealthStatus
from gitloop.model.resources import Manifest

IGNORE_RESTART_POLICY_ANNOTATION = "argocd.argoproj.io/ignore-restart-policy"


def _is_error_reason(reason: str) -> bool:
    return reason.startswith("Err") or reason.endswith("Error") or reason.endswith("BackOff")


def _fail_message(container: Manifest) -> str:
    if not f.has(container, "state", "terminated"):
        return ""
    terminated = f.mapping(container, "state", "terminated")
    if message := f.string(terminated, "message"):
        return message
    if f.string(terminated, "reason") == "OOMKilled":
        return "OOMKilled"
    if exit_code := f.integer(terminated, "exitCode"):
        return f'container "{f.string(container, "name")}" failed with exit code {exit_code}'
    return ""


def _is_ready(obj: Manifest) -> bool:
    ready = f.condition(obj, "Ready")
    return ready is not None and f.string(ready, "status") == "True"


def assess(obj: Manifest) -> HealthResult:
    if obj.get("apiVersion") != "v1":
        return f.unsupported_version("Pod", obj)
    policy = f.string(obj, "spec", "restartPolicy")
    ignores_policy = f.annotation_map(obj).get(IGNORE_RESTART_POLICY_ANNOTATION) == "true"
    long_running = policy == "Always" or (ignores_policy and not is_hook(obj))
    containers = f.items(obj, "status", "containerStatuses")
    message = f.string(obj, "status", "message")

    if long_running:
        waiting_errors = [
            f.string(c, "state", "waiting", "message")
            for c in containers
            if f.has(c, "state", "waiting") and _is_error_reason(f.string(c, "state", "waiting", "reason"))
        ]
        if waiting_errors:
            return HealthResult(HealthStatus.DEGRADED, ", ".join(waiting_errors))

    match f.string(obj, "status", "phase"):
        case "Pending":
            return HealthResult(HealthStatus.PROGRESSING, message)
        case "Succeeded":
            return HealthResult(HealthStatus.HEALTHY, message)
        case "Failed":
            if message:
                return HealthResult(HealthStatus.DEGRADED, message)
            for container in [*f.items(obj, "status", "initContainerStatuses"), *containers]:
                if reason := _fail_message(container):
                    return HealthResult(HealthStatus.DEGRADED, reason)
            return HealthResult(HealthStatus.DEGRADED)
        case "Running" if long_running:
            if _is_ready(obj):
                return HealthResult(HealthStatus.HEALTHY, message)
            if any(f.has(c, "lastState", "terminated") for c in containers):
                return HealthResult(HealthStatus.DEGRADED, message)
            return HealthResult(HealthStatus.PROGRESSING, message)
        case "Running" if policy in ("OnFailure", "Never"):
            return HealthResult(HealthStatus.PROGRESSING, message)
    return HealthResult(HealthStatus.UNKNOWN, message)
