"""Diffing of desired against live objects, as Argo CD's gitops-engine ``pkg/diff`` does it. Pure.

One module per concept: ``normalize`` (server-owned fields, status, Secrets, quantities),
``ignore`` (``ignoreDifferences``: ``pointer`` for JSON pointers, ``jqpath`` for jq path expressions,
``fieldpath`` for managedFields), ``merge`` (the three-way fallback without a server-side apply dry
run), ``compare`` (one resource's sync status), ``render`` (a unified diff for people, Secret values
masked by ``secrets``) and ``respect`` (the ``RespectIgnoreDifferences`` sync option's patching of
desired objects).

    ignores = IgnoreDifferences(rules_from_spec(app["spec"].get("ignoreDifferences")))
    result = compare(desired, live, predicted=dry_run_result, ignores=ignores)
    result.status            # SyncStatus.SYNCED / OUT_OF_SYNC
    print(unified_diff(result))
"""

from __future__ import annotations

from gitloop.gitops.diff.compare import (
    COMPARE_OPTIONS_ANNOTATION,
    MANAGER,
    CompareOptions,
    ResourceDiff,
    application_status,
    compare,
)
from gitloop.gitops.diff.ignore import IgnoreDifferences, IgnoreRule, rules_from_overrides, rules_from_spec
from gitloop.gitops.diff.normalize import (
    LAST_APPLIED_ANNOTATION,
    TRACKING_ANNOTATION,
    NormalizeOptions,
    StatusPolicy,
    normalize,
)
from gitloop.gitops.diff.render import colorize, unified_diff
from gitloop.gitops.diff.respect import respect_ignore_differences
from gitloop.gitops.diff.secrets import REPLACEMENT, mask_secrets

__all__ = [
    "COMPARE_OPTIONS_ANNOTATION",
    "LAST_APPLIED_ANNOTATION",
    "MANAGER",
    "REPLACEMENT",
    "TRACKING_ANNOTATION",
    "CompareOptions",
    "IgnoreDifferences",
    "IgnoreRule",
    "NormalizeOptions",
    "ResourceDiff",
    "StatusPolicy",
    "application_status",
    "colorize",
    "compare",
    "mask_secrets",
    "normalize",
    "respect_ignore_differences",
    "rules_from_overrides",
    "rules_from_spec",
    "unified_diff",
]
