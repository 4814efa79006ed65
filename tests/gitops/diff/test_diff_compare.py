"""``compare`` as a function over (desired | None, live | None), and an Application's sync status."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gitloop.errors import SyncError
from gitloop.gitops.diff import (
    CompareOptions,
    IgnoreDifferences,
    IgnoreRule,
    ResourceDiff,
    application_status,
    compare,
)
from gitloop.model.resources import ResourceKey
from gitloop.model.sync import SyncStatus

KEY = ResourceKey("", "ConfigMap", "ns", "cm")


def config_map(value: str, **annotations: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "cm", "namespace": "ns"}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"a": value}}


def test_neither_side_is_an_error() -> None:
    with pytest.raises(SyncError):
        compare(None, None)


@pytest.mark.parametrize(
    ("desired", "live", "status", "pruning"),
    [
        (config_map("1"), config_map("1"), SyncStatus.SYNCED, False),
        (config_map("1"), config_map("2"), SyncStatus.OUT_OF_SYNC, False),
        (config_map("1"), None, SyncStatus.OUT_OF_SYNC, False),
        (None, config_map("1"), SyncStatus.OUT_OF_SYNC, True),
    ],
)
def test_sides(
    desired: dict[str, Any] | None, live: dict[str, Any] | None, status: SyncStatus, pruning: bool
) -> None:
    result = compare(desired, live)
    assert result.key == KEY
    assert result.status is status
    assert result.modified is (status is SyncStatus.OUT_OF_SYNC)
    assert result.requires_pruning is pruning
    assert result.counts


def test_results_hold_normalised_objects() -> None:
    live = config_map("2", **{"gitloop.dev/tracking-id": "app:/ConfigMap:ns/cm"})
    live["metadata"]["resourceVersion"] = "7"
    result = compare(config_map("1"), live)
    assert result.desired == config_map("1")
    assert result.live == config_map("2")
    assert result.predicted == config_map("1")
    created = compare(config_map("1"), None)
    assert (created.desired, created.live, created.predicted) == (config_map("1"), None, config_map("1"))
    pruned = compare(None, live)
    assert (pruned.desired, pruned.live, pruned.predicted) == (None, config_map("2"), None)


def test_inputs_are_not_changed() -> None:
    desired, live, predicted = config_map("1"), config_map("2"), config_map("1")
    live["metadata"]["managedFields"] = [{"manager": "hpa", "fieldsV1": {"f:data": {"f:a": {}}}}]
    before = copy.deepcopy((desired, live, predicted))
    ignores = IgnoreDifferences([IgnoreRule("*", "*", managed_fields_managers=("hpa",))])
    result = compare(desired, live, predicted=predicted, ignores=ignores)
    assert result.status is SyncStatus.SYNCED
    assert (desired, live, predicted) == before


@pytest.mark.parametrize(
    ("value", "ignored"),
    [
        ("IgnoreExtraneous", True),
        ("ServerSideApply=true, IgnoreExtraneous", True),
        ("IgnoreExtraneous=false", False),
        ("ServerSideApply=true", False),
    ],
)
def test_ignore_extraneous_only_for_pruning(value: str, ignored: bool) -> None:
    annotations = {"argocd.argoproj.io/compare-options": value}
    extraneous = compare(None, config_map("1", **annotations))
    assert extraneous.status is SyncStatus.OUT_OF_SYNC
    assert extraneous.counts is not ignored
    changed = compare(config_map("2", **annotations), config_map("1", **annotations))
    assert changed.status is SyncStatus.OUT_OF_SYNC and changed.counts


def test_predicted_is_compared_with_live_and_desired_is_only_shown() -> None:
    result = compare(config_map("desired"), config_map("1"), predicted=config_map("1"))
    assert result.status is SyncStatus.SYNCED
    assert result.desired == config_map("desired")


def test_own_field_manager_name() -> None:
    live = config_map("1")
    live["metadata"]["labels"] = {"old": "x"}
    live["metadata"]["managedFields"] = [
        {"manager": "my-cd", "fieldsV1": {"f:metadata": {"f:labels": {"f:old": {}}}}}
    ]
    assert compare(config_map("1"), live).status is SyncStatus.SYNCED
    assert (
        compare(config_map("1"), live, options=CompareOptions(manager="my-cd")).status
        is SyncStatus.OUT_OF_SYNC
    )


def diff(status: SyncStatus, *, pruning: bool = False, extraneous: bool = False) -> ResourceDiff:
    return ResourceDiff(KEY, status, requires_pruning=pruning, ignore_extraneous=extraneous)


@pytest.mark.parametrize(
    ("diffs", "status"),
    [
        ([], SyncStatus.SYNCED),
        ([diff(SyncStatus.SYNCED)], SyncStatus.SYNCED),
        ([diff(SyncStatus.SYNCED), diff(SyncStatus.OUT_OF_SYNC)], SyncStatus.OUT_OF_SYNC),
        (
            [diff(SyncStatus.SYNCED), diff(SyncStatus.OUT_OF_SYNC, pruning=True, extraneous=True)],
            SyncStatus.SYNCED,
        ),
        ([diff(SyncStatus.OUT_OF_SYNC, pruning=True)], SyncStatus.OUT_OF_SYNC),
        ([diff(SyncStatus.OUT_OF_SYNC), ResourceDiff.failed(KEY, "boom")], SyncStatus.UNKNOWN),
    ],
)
def test_application_status(diffs: list[ResourceDiff], status: SyncStatus) -> None:
    assert application_status(diffs) is status


def test_sync_status_names() -> None:
    assert [str(status) for status in SyncStatus] == ["Synced", "OutOfSync", "Unknown"]
