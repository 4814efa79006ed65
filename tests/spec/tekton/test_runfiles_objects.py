"""The objects that travel with runs: PersistentVolumeClaims read and checked as the API server checks
them, ServiceAccounts and RBAC objects read as cluster-only, and a v1 PipelineRun's v1beta1
``serviceAccountName`` read as ``taskRunTemplate.serviceAccountName`` with a warning. One file per case."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from gitloop.errors import SpecError
from gitloop.spec.tekton import PipelineRun, load
from gitloop.spec.tekton.cluster_objects import ClusterOnlyObject, PersistentVolumeClaim, parse_quantity

TESTDATA = Path(__file__).parent / "testdata"
CASES = TESTDATA / "runfiles"

# file -> (line, object, field, words the message must contain)
INVALID: dict[str, tuple[int, str, str, str]] = {
    "pvc-no-access-modes.yaml": (
        4,
        "PersistentVolumeClaim/cache",
        "spec.accessModes",
        "at least one access mode",
    ),
    "pvc-unknown-access-mode.yaml": (
        7,
        "PersistentVolumeClaim/cache",
        "spec.accessModes[1]",
        "unsupported access mode 'ReadWriteAll'",
    ),
    "pvc-storage-not-quantity.yaml": (
        8,
        "PersistentVolumeClaim/cache",
        "spec.resources.requests.storage",
        "'1 gigabyte' is not a quantity",
    ),
    "pvc-storage-zero.yaml": (
        8,
        "PersistentVolumeClaim/cache",
        "spec.resources.requests.storage",
        "'0' must be greater than zero",
    ),
    "pvc-no-storage.yaml": (
        6,
        "PersistentVolumeClaim/cache",
        "spec.resources.requests.storage",
        "required field is missing",
    ),
    "pvc-name-escapes.yaml": (
        4,
        "PersistentVolumeClaim/../../home",
        "metadata.name",
        "invalid resource name",
    ),
    "role-wrong-api-version.yaml": (
        1,
        "Role/old",
        "apiVersion",
        "unsupported apiVersion 'rbac.authorization.k8s.io/v1beta1' for Role; use rbac.authorization.k8s.io/v1",
    ),
    "pipelinerun-v1-account-twice.yaml": (
        10,
        "PipelineRun/twice",
        "spec.serviceAccountName",
        "give taskRunTemplate.serviceAccountName only",
    ),
}


def test_every_case_file_has_a_row() -> None:
    valid = {"pvc-valid.yaml", "rbac-objects.yaml"}
    assert {p.name for p in CASES.glob("*.yaml")} == set(INVALID) | valid


@pytest.mark.parametrize(("name", "expected"), sorted(INVALID.items()))
def test_invalid_object_fails_naming_file_line_object_and_field(
    name: str, expected: tuple[int, str, str, str]
) -> None:
    line, obj, field, words = expected
    with pytest.raises(SpecError) as caught:
        load(CASES / name)
    assert caught.value.file == f"{CASES / name}:{line}"
    assert caught.value.obj == obj
    assert caught.value.field == field
    assert words in str(caught.value)


def test_claim_keeps_its_name_access_modes_and_storage_request() -> None:
    (claim,) = load(CASES / "pvc-valid.yaml")
    assert isinstance(claim, PersistentVolumeClaim)
    assert (claim.name, claim.access_modes, claim.storage) == (
        "build-cache",
        ("ReadWriteOnce", "ReadWriteMany"),
        Decimal(500 * 2**20),
    )
    assert not claim.read_only


def test_service_accounts_and_rbac_objects_are_read_as_cluster_only_with_a_note() -> None:
    loaded = load(CASES / "rbac-objects.yaml")
    assert all(isinstance(o, ClusterOnlyObject) for o in loaded)
    assert [f"{o.kind}/{o.name}" for o in loaded] == [
        "ServiceAccount/gitops-pipeline-sa",
        "Role/pipeline-edit",
        "ClusterRole/pipeline-read",
        "RoleBinding/pipeline-edit",
        "ClusterRoleBinding/pipeline-read",
    ]
    note = loaded[0].note()
    assert note.startswith(f"ServiceAccount 'gitops-pipeline-sa' ({CASES / 'rbac-objects.yaml'}:1): ")
    assert "not applicable locally" in note and "\n" not in note


def test_v1_service_account_name_is_read_as_the_task_run_template_with_a_warning() -> None:
    path = TESTDATA / "pipelinerun-v1-service-account.yaml"
    (run,) = load(path)
    assert isinstance(run, PipelineRun)
    assert run.task_run_template.service_account_name == "gitops-pipeline-sa"
    (warning,) = run.warnings
    assert warning.startswith(f"{path}:8 PipelineRun/gitops-ci-run-*: spec.serviceAccountName is the")
    assert "tekton.dev/v1 spells it spec.taskRunTemplate.serviceAccountName" in warning


def test_v1beta1_service_account_name_needs_no_warning() -> None:
    (_task, run) = load(TESTDATA / "v1beta1-task-and-run.yaml")
    assert isinstance(run, PipelineRun) and run.warnings == ()


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1Gi", Decimal(2**30)),
        ("500Mi", Decimal(500 * 2**20)),
        ("2G", Decimal(2 * 10**9)),
        ("1.5Ki", Decimal(1536)),
        ("1e3", Decimal(1000)),
        ("128974848", Decimal(128974848)),
        ("100m", Decimal("0.1")),
    ],
)
def test_quantity_is_read_as_kubernetes_reads_it(text: str, value: Decimal) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["", "1GB", "Gi", "-1Gi", "1 Gi", "1.2.3"])
def test_anything_else_is_not_a_quantity(text: str) -> None:
    with pytest.raises(ValueError, match="is not a quantity"):
        parse_quantity(text)
