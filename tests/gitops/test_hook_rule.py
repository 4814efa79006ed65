"""The one "is this a sync hook" rule, asked by the sync planner and the Pod health rule alike.

The cases where two copies of the rule once disagreed (``Skip,Skip``, ``Skip,PreDelete``, an unknown
type) are in the table; both users must give the same answer for each."""

from __future__ import annotations

import pytest

from gitloop.gitops import hook_rule
from gitloop.gitops.health import assess
from gitloop.gitops.sync import hooks
from gitloop.model.health import HealthStatus
from gitloop.model.resources import Manifest

ARGO, HELM = "argocd.argoproj.io/hook", "helm.sh/hook"

# annotations → (is a hook, is skipped)
CASES: dict[str, tuple[dict[str, str], bool, bool]] = {
    "no-annotation": ({}, False, False),
    "presync": ({ARGO: "PreSync"}, True, False),
    "skip": ({ARGO: "Skip"}, False, True),
    "skip-twice": ({ARGO: "Skip, Skip"}, False, True),
    "skip-and-predelete": ({ARGO: "Skip,PreDelete"}, True, False),
    "skip-and-sync": ({ARGO: "Skip,Sync"}, True, False),
    "empty-argo-value": ({ARGO: ""}, True, False),
    "argo-wins-over-helm": ({ARGO: "Skip", HELM: "pre-install"}, False, True),
    "helm-pre-install": ({HELM: "pre-install"}, True, False),
    "helm-crd-install": ({HELM: "crd-install"}, False, False),
    "helm-test": ({HELM: "test"}, True, False),
}


def pod(annotations: dict[str, str]) -> Manifest:
    notes = {"argocd.argoproj.io/ignore-restart-policy": "true", **annotations}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "annotations": notes},
        "spec": {"restartPolicy": "Never"},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
    }


@pytest.mark.parametrize(("annotations", "hook", "skipped"), list(CASES.values()), ids=list(CASES))
def test_one_rule(annotations: dict[str, str], hook: bool, skipped: bool) -> None:
    obj = pod(annotations)
    assert hook_rule.is_hook(obj) is hook
    assert hook_rule.is_skipped(obj) is skipped
    assert hooks.is_skipped(obj) is skipped
    assert hooks.is_hook(obj) is hook
    # A running, ready Pod told to ignore its restart policy is long-running (Healthy) unless it is a
    # hook, which keeps its policy (Never: Progressing until it ends).
    expected = HealthStatus.PROGRESSING if hook else HealthStatus.HEALTHY
    assert assess(obj).status is expected
