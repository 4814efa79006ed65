"""Sync options of Applications and resources: what parses to what, and what is an error."""

from __future__ import annotations

from typing import Any

import pytest

from gitloop.errors import SpecError
from gitloop.gitops.sync import PropagationPolicy, PruneMode, ResourceOptions, SyncOptions, parse_sync_options
from gitloop.gitops.sync.options import combine, resource_options
from gitloop.model.resources import Manifest

F = PruneMode.FALSE
C = PruneMode.CONFIRM

# Application syncOptions -> the fields that differ from the defaults
APPLICATION: dict[str, tuple[list[str], dict[str, Any]]] = {
    "none": ([], {}),
    "create-namespace": (["CreateNamespace=true"], {"create_namespace": True}),
    "prune-last": (["PruneLast=true"], {"prune_last": True}),
    "out-of-sync-only": (["ApplyOutOfSyncOnly=true"], {"apply_out_of_sync_only": True}),
    "replace": (["Replace=true"], {"replace": True}),
    "server-side": (["ServerSideApply=true"], {"server_side_apply": True}),
    "no-validate": (["Validate=false"], {"validate": False}),
    "skip-dry-run": (["SkipDryRunOnMissingResource=true"], {"skip_dry_run_on_missing_resource": True}),
    "background": (
        ["PrunePropagationPolicy=background"],
        {"prune_propagation_policy": PropagationPolicy.BACKGROUND},
    ),
    "orphan": (["PrunePropagationPolicy=orphan"], {"prune_propagation_policy": PropagationPolicy.ORPHAN}),
    "no-prune": (["Prune=false"], {"prune": F}),
    "confirm-delete": (["Delete=confirm"], {"delete": C}),
    "shared": (["FailOnSharedResource=true"], {"fail_on_shared_resource": True}),
    "ignore-differences": (["RespectIgnoreDifferences=true"], {"respect_ignore_differences": True}),
    "no-migration": (["ClientSideApplyMigration=false"], {"client_side_apply_migration": False}),
    "false-is-default": (["CreateNamespace=false", "ServerSideApply=false"], {}),
    "spaces-trimmed": ([" PruneLast = true "], {"prune_last": True}),
    "unknown-kept": (["FutureOption=true"], {"unknown": ("FutureOption=true",)}),
    "several": (
        ["CreateNamespace=true", "PruneLast=true", "PrunePropagationPolicy=foreground"],
        {"create_namespace": True, "prune_last": True},
    ),
}


@pytest.mark.parametrize(("items", "fields"), list(APPLICATION.values()), ids=list(APPLICATION))
def test_application_options(items: list[str], fields: dict[str, Any]) -> None:
    assert parse_sync_options(items) == SyncOptions(**fields)


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (
            ["CreateNamespace"],
            "spec.syncPolicy.syncOptions[0]: sync option 'CreateNamespace' is not of the form",
        ),
        (
            ["Replace=true", "PruneLast=yes"],
            "syncOptions[1]: sync option 'PruneLast=yes': expected true or false",
        ),
        (["CreateNamespace=True"], "expected true or false"),
        (["PrunePropagationPolicy=Foreground"], "expected foreground or background or orphan"),
        (["Prune=maybe"], "expected true or false or confirm"),
        (["=true"], "is not of the form Key=value"),
        ([3], "syncOptions[0]: expected a string, got int"),
    ],
)
def test_bad_application_options_are_spec_errors(items: list[Any], message: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_sync_options(items, obj="argoproj.io/Application argocd/shop")
    assert message in str(caught.value)
    assert str(caught.value).startswith("argoproj.io/Application argocd/shop: spec.syncPolicy.syncOptions[")


def _annotated(**notes: str) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "x", "namespace": "shop", "annotations": notes},
    }


RESOURCE: dict[str, tuple[str, dict[str, Any]]] = {
    "empty": ("", {}),
    "no-prune": ("Prune=false", {"prune": F}),
    "confirm": ("Prune=confirm", {"prune": C}),
    "no-delete": ("Delete=false", {"delete": F}),
    "several": (
        "PruneLast=true, Replace=true,ServerSideApply=false , Validate=false",
        {"prune_last": True, "replace": True, "server_side_apply": False, "validate": False},
    ),
    "skip-dry-run": ("SkipDryRunOnMissingResource=true", {"skip_dry_run_on_missing_resource": True}),
    "force": ("Force=true,Replace=true", {"force": True, "replace": True}),
    "duplicates": ("Prune=false,Prune=false", {"prune": F}),
    "unknown": ("Whatever=1", {"unknown": ("Whatever=1",)}),
}


@pytest.mark.parametrize(("annotation", "fields"), list(RESOURCE.values()), ids=list(RESOURCE))
def test_resource_options(annotation: str, fields: dict[str, Any]) -> None:
    manifest = _annotated(**{"argocd.argoproj.io/sync-options": annotation})
    assert resource_options(manifest) == ResourceOptions(**fields)


def test_a_resource_without_annotations_has_no_options() -> None:
    assert (
        resource_options({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})
        == ResourceOptions()
    )


def test_helm_keep_policy_means_delete_false_unless_said_otherwise() -> None:
    assert resource_options(_annotated(**{"helm.sh/resource-policy": "keep"})).delete is F
    both = _annotated(
        **{"helm.sh/resource-policy": "keep", "argocd.argoproj.io/sync-options": "Delete=confirm"}
    )
    assert resource_options(both).delete is C


@pytest.mark.parametrize("annotation", ["Prune", "PruneLast=no", "Prune=never"])
def test_bad_resource_options_name_the_object_and_annotation(annotation: str) -> None:
    with pytest.raises(SpecError) as caught:
        resource_options(_annotated(**{"argocd.argoproj.io/sync-options": annotation}))
    assert str(caught.value).startswith(
        "core/ConfigMap shop/x: metadata.annotations[argocd.argoproj.io/sync-options]: sync option"
    )


R = ResourceOptions
# (application, desired, live, op force) -> expected effective fields
COMBINE: dict[str, tuple[SyncOptions, ResourceOptions, ResourceOptions, bool, dict[str, Any]]] = {
    "defaults": (SyncOptions(), R(), R(), False, {}),
    "app replace": (SyncOptions(replace=True), R(), R(), False, {"replace": True}),
    "live replace": (SyncOptions(), R(), R(replace=True), False, {"replace": True}),
    "replace=false does not undo": (
        SyncOptions(replace=True),
        R(replace=False),
        R(),
        False,
        {"replace": True},
    ),
    "force from operation": (SyncOptions(), R(), R(), True, {"force": True}),
    "force from resource": (SyncOptions(), R(force=True), R(), False, {"force": True}),
    "ssa from app": (SyncOptions(server_side_apply=True), R(), R(), False, {"server_side_apply": True}),
    "ssa from resource": (SyncOptions(), R(server_side_apply=True), R(), False, {"server_side_apply": True}),
    "ssa=false wins": (SyncOptions(server_side_apply=True), R(server_side_apply=False), R(), False, {}),
    "validate off by resource": (SyncOptions(), R(validate=False), R(), False, {"validate": False}),
    "validate cannot be re-enabled": (
        SyncOptions(validate=False),
        R(validate=True),
        R(),
        False,
        {"validate": False},
    ),
    "prune default from app": (SyncOptions(prune=F), R(), R(), False, {"prune": F}),
    "resource prune wins": (SyncOptions(prune=F), R(), R(prune=C), False, {"prune": C}),
    "prune read from live": (SyncOptions(), R(prune=F), R(), False, {}),
    "prune last from live": (SyncOptions(), R(), R(prune_last=True), False, {"prune_last": True}),
    "skip dry run": (
        SyncOptions(),
        R(skip_dry_run_on_missing_resource=True),
        R(),
        False,
        {"skip_dry_run": True},
    ),
}


@pytest.mark.parametrize(
    ("app", "desired", "live", "force", "fields"), list(COMBINE.values()), ids=list(COMBINE)
)
def test_combined_options(
    app: SyncOptions, desired: ResourceOptions, live: ResourceOptions, force: bool, fields: dict[str, Any]
) -> None:
    effective = combine(app, desired, live, force=force)
    expected = {
        "replace": False,
        "force": False,
        "server_side_apply": False,
        "validate": True,
        "skip_dry_run": False,
        "prune": PruneMode.TRUE,
        "prune_last": False,
        **fields,
    }
    assert {name: getattr(effective, name) for name in expected} == expected


def test_propagation_policies_in_api_spelling() -> None:
    assert [p.api_value for p in PropagationPolicy] == ["Foreground", "Background", "Orphan"]
