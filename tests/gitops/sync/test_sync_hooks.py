"""Hook detection: Argo CD's annotations, Helm's mapped ones, waves, delete policies and names."""

from __future__ import annotations

import pytest

from gitloop.errors import SpecError
from gitloop.gitops.sync import HookDeletePolicy, HookType, SyncPhase
from gitloop.gitops.sync.hooks import (
    delete_policies,
    hook_name,
    hook_types,
    is_hook,
    is_skipped,
    sync_phases,
    wave,
)
from gitloop.model.resources import Manifest

BHC = HookDeletePolicy.BEFORE_HOOK_CREATION
HS = HookDeletePolicy.HOOK_SUCCEEDED
HF = HookDeletePolicy.HOOK_FAILED
PRE, SYNC, POST, FAIL = SyncPhase.PRE_SYNC, SyncPhase.SYNC, SyncPhase.POST_SYNC, SyncPhase.SYNC_FAIL


def job(**annotations: str) -> Manifest:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "annotations": annotations}}


ARGO = "argocd.argoproj.io/hook"
ARGO_POLICY = "argocd.argoproj.io/hook-delete-policy"
WAVE = "argocd.argoproj.io/sync-wave"
HELM = "helm.sh/hook"
HELM_WEIGHT = "helm.sh/hook-weight"
HELM_POLICY = "helm.sh/hook-delete-policy"

# annotations -> (is a hook, sync phases, delete policies, wave)
CASES: dict[str, tuple[dict[str, str], bool, tuple[SyncPhase, ...], tuple[HookDeletePolicy, ...], int]] = {
    "plain resource": ({}, False, (SYNC,), (BHC,), 0),
    "plain resource in a wave": ({WAVE: "-3"}, False, (SYNC,), (BHC,), -3),
    "presync": ({ARGO: "PreSync"}, True, (PRE,), (BHC,), 0),
    "sync hook": ({ARGO: "Sync"}, True, (SYNC,), (BHC,), 0),
    "postsync, succeeded policy": ({ARGO: "PostSync", ARGO_POLICY: "HookSucceeded"}, True, (POST,), (HS,), 0),
    "syncfail": ({ARGO: "SyncFail", ARGO_POLICY: "HookFailed,HookSucceeded"}, True, (FAIL,), (HF, HS), 0),
    "two phases, listed out of order": ({ARGO: " PostSync , PreSync"}, True, (PRE, POST), (BHC,), 0),
    "skip": ({ARGO: "Skip"}, False, (), (BHC,), 0),
    "skip with a phase": ({ARGO: "Skip,PreSync"}, True, (PRE,), (BHC,), 0),
    "postdelete": ({ARGO: "PostDelete"}, True, (), (BHC,), 0),
    "predelete and presync": ({ARGO: "PreDelete,PreSync"}, True, (PRE,), (BHC,), 0),
    "helm pre-install": ({HELM: "pre-install"}, True, (PRE,), (BHC,), 0),
    "helm pre-upgrade": ({HELM: "pre-upgrade"}, True, (PRE,), (BHC,), 0),
    "helm post-install": ({HELM: "post-install"}, True, (POST,), (BHC,), 0),
    "helm post-upgrade": ({HELM: "post-upgrade"}, True, (POST,), (BHC,), 0),
    "helm install and upgrade": ({HELM: "pre-install,pre-upgrade"}, True, (PRE,), (BHC,), 0),
    "helm pre-delete": ({HELM: "pre-delete"}, True, (), (BHC,), 0),
    "helm test": ({HELM: "test"}, True, (), (BHC,), 0),
    "helm test-success": ({HELM: "test-success"}, True, (), (BHC,), 0),
    "helm pre-rollback": ({HELM: "pre-rollback"}, True, (), (BHC,), 0),
    "helm crd-install": ({HELM: "crd-install"}, False, (SYNC,), (BHC,), 0),
    "helm weight": ({HELM: "pre-install", HELM_WEIGHT: "-5"}, True, (PRE,), (BHC,), -5),
    "sync-wave beats weight": ({HELM: "pre-install", HELM_WEIGHT: "-5", WAVE: "2"}, True, (PRE,), (BHC,), 2),
    "helm policies mapped": (
        {HELM: "post-install", HELM_POLICY: "hook-succeeded,hook-failed"},
        True,
        (POST,),
        (HS, HF),
        0,
    ),
    "helm before-hook-creation": (
        {HELM: "pre-install", HELM_POLICY: "before-hook-creation"},
        True,
        (PRE,),
        (BHC,),
        0,
    ),
    "unknown helm policy ignored": ({HELM: "pre-install", HELM_POLICY: "whenever"}, True, (PRE,), (BHC,), 0),
    "argo type beats helm type": ({ARGO: "Sync", HELM: "post-install"}, True, (SYNC,), (BHC,), 0),
    "policies of both are merged": (
        {ARGO: "PreSync", ARGO_POLICY: "HookFailed", HELM_POLICY: "hook-succeeded"},
        True,
        (PRE,),
        (HF, HS),
        0,
    ),
}


@pytest.mark.parametrize(
    ("annotations", "hook", "phases", "policies", "expected_wave"), list(CASES.values()), ids=list(CASES)
)
def test_hooks(
    annotations: dict[str, str],
    hook: bool,
    phases: tuple[SyncPhase, ...],
    policies: tuple[HookDeletePolicy, ...],
    expected_wave: int,
) -> None:
    obj = job(**annotations)
    assert is_hook(obj) is hook
    assert sync_phases(obj) == phases
    assert delete_policies(obj) == policies
    assert wave(obj) == expected_wave


def test_skip_and_types() -> None:
    assert is_skipped(job(**{ARGO: "Skip"}))
    assert not is_skipped(job(**{ARGO: "Skip,Sync"}))
    assert hook_types(job(**{HELM: "post-delete"})) == (HookType.POST_DELETE,)
    assert hook_types(job(**{ARGO: "PreSync,PreSync"})) == (HookType.PRE_SYNC,)
    assert hook_types(job()) == ()


@pytest.mark.parametrize(
    ("annotations", "message"),
    [
        ({ARGO: "PreSnyc"}, "metadata.annotations[argocd.argoproj.io/hook]: unknown hook type 'PreSnyc'"),
        (
            {ARGO: "PreSync", ARGO_POLICY: "Always"},
            "hook-delete-policy]: unknown hook delete policy 'Always'",
        ),
        ({WAVE: "1.5"}, "metadata.annotations[argocd.argoproj.io/sync-wave]: '1.5' is not an integer"),
        (
            {HELM: "pre-install", HELM_WEIGHT: "heavy"},
            "annotations[helm.sh/hook-weight]: 'heavy' is not an integer",
        ),
    ],
)
def test_bad_hook_annotations_are_spec_errors(annotations: dict[str, str], message: str) -> None:
    obj = job(**annotations)
    with pytest.raises(SpecError) as caught:
        sync_phases(obj)
        delete_policies(obj)
        wave(obj)
    assert str(caught.value).startswith("batch/Job j: metadata.annotations[")
    assert message in str(caught.value)


@pytest.mark.parametrize("text", ["+4", "-0", "12"])
def test_waves_are_go_integers(text: str) -> None:
    assert wave(job(**{WAVE: text})) == int(text)


@pytest.mark.parametrize(
    ("generate_name", "revision", "phase", "started_at", "expected"),
    [
        ("migrate-", "3f2c1ab9d8e7f6a5", PRE, 1700000000, "migrate-3f2c1ab-presync-1700000000"),
        ("migrate-", "3f2c1ab9d8e7f6a5", POST, 1700000000, "migrate-3f2c1ab-postsync-1700000000"),
        ("Notify-", "ABCDEF12", FAIL, 5, "Notify-abcdef1-syncfail-5"),
        ("short-", "v1.2.3", SYNC, 7, "short-v1.2.3-sync-7"),
        ("eight-", "12345678", SYNC, 7, "eight-1234567-sync-7"),
        ("seven-", "1234567", SYNC, 7, "seven-1234567-sync-7"),
        ("none-", "", PRE, 0, "none--presync-0"),
    ],
)
def test_generated_hook_names(
    generate_name: str, revision: str, phase: SyncPhase, started_at: int, expected: str
) -> None:
    assert hook_name(generate_name, revision, phase, started_at) == expected
