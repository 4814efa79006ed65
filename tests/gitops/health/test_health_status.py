"""The ordering of HealthStatus, Application health as the worst status, and the registry's edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import yaml

from gitloop.gitops.health import assess, check_for, cronjob, ignores_health, worst
from gitloop.model.health import HealthResult, HealthStatus

H = HealthStatus.HEALTHY
S = HealthStatus.SUSPENDED
P = HealthStatus.PROGRESSING
M = HealthStatus.MISSING
D = HealthStatus.DEGRADED
U = HealthStatus.UNKNOWN


def test_statuses_are_ordered_from_most_to_least_healthy() -> None:
    assert sorted([U, D, M, P, S, H]) == [H, S, P, M, D, U]
    assert H < S < P < M < D < U
    assert U >= D and P <= P and not (D > U)
    assert [s.rank for s in HealthStatus] == [0, 1, 2, 3, 4, 5]


def test_statuses_carry_argo_cd_names() -> None:
    assert [str(s) for s in HealthStatus] == [
        "Healthy",
        "Suspended",
        "Progressing",
        "Missing",
        "Degraded",
        "Unknown",
    ]
    assert HealthStatus("Degraded") is D


def test_statuses_do_not_compare_with_strings() -> None:
    with pytest.raises(TypeError):
        _ = H < "Unknown"  # type: ignore[operator]


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], H),
        ([H, H], H),
        ([H, S], S),
        ([S, P, H], P),
        ([H, M, D], D),
        ([M, P], M),
        ([D, U, H], U),
    ],
)
def test_application_health_is_the_worst(statuses: list[HealthStatus], expected: HealthStatus) -> None:
    assert worst(statuses) is expected
    assert worst(iter(statuses)) is expected


def test_result_is_a_frozen_value() -> None:
    result = HealthResult(D, "boom")
    assert result == HealthResult(D, "boom")
    assert HealthResult(H).message == ""
    with pytest.raises(AttributeError):
        result.status = H  # type: ignore[misc]


def test_registry_is_keyed_by_group_and_kind() -> None:
    assert check_for("apps", "Deployment") is not None
    assert check_for("", "Pod") is not None
    assert check_for("networking.k8s.io", "Ingress") is check_for("extensions", "Ingress")
    assert check_for("", "Deployment") is None
    assert check_for("apps", "ConfigMap") is None
    assert check_for("cert-manager.io", "Certificate") is None


def test_no_generic_conditions_rule_for_unknown_kinds() -> None:
    certificate = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": "tls"},
        "status": {"conditions": [{"type": "Ready", "status": "False"}]},
    }
    assert assess(certificate) is None


def test_deletion_applies_to_any_kind_unless_a_hook_finalizer_holds_it() -> None:
    crd = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"deletionTimestamp": "2025-03-01T10:00:00Z"},
    }
    assert assess(crd) == HealthResult(P, "Pending deletion")
    crd["metadata"]["finalizers"] = ["argocd.argoproj.io/hook-finalizer"]
    assert assess(crd) is None


@pytest.mark.parametrize("stamp", ["", "not a time", 17, None])
def test_an_empty_or_unparsable_deletion_timestamp_is_no_deletion(stamp: object) -> None:
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"deletionTimestamp": stamp}}
    assert assess(pvc) == HealthResult(U)


def test_a_wrongly_shaped_object_is_unknown_not_an_exception() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "status": ["Running"]}
    result = assess(pod)
    assert result is not None
    assert result.status is U
    assert (
        result.message == "failed to convert unstructured Pod to typed: .status: expected an object, got list"
    )


@pytest.mark.parametrize(
    ("annotations", "expected"),
    [
        ({"argocd.argoproj.io/ignore-healthcheck": "true"}, True),
        ({"argocd.argoproj.io/ignore-healthcheck": "false"}, False),
        ({"argocd.argoproj.io/ignore-healthcheck": True}, False),
        ({}, False),
        (None, False),
    ],
)
def test_ignore_healthcheck_annotation(annotations: object, expected: bool) -> None:
    manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"annotations": annotations}}
    assert ignores_health(manifest) is expected


@pytest.mark.parametrize(
    ("annotations", "assessed_as_long_running"),
    [
        ({}, True),
        ({"argocd.argoproj.io/hook": "PostSync"}, False),
        ({"argocd.argoproj.io/hook": "Skip"}, True),
        ({"argocd.argoproj.io/hook": "Skip,PreSync"}, False),
        ({"argocd.argoproj.io/hook": "Bogus"}, False),
        ({"helm.sh/hook": "pre-install"}, False),
        ({"helm.sh/hook": "crd-install"}, True),
    ],
)
def test_ignore_restart_policy_is_not_honoured_on_hooks(
    annotations: dict[str, str], assessed_as_long_running: bool
) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"annotations": {"argocd.argoproj.io/ignore-restart-policy": "true", **annotations}},
        "spec": {"restartPolicy": "OnFailure"},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
    }
    result = assess(pod)
    assert result is not None
    assert result.status is (H if assessed_as_long_running else P)


def test_cronjob_reads_timestamps_that_yaml_parsed_into_datetimes() -> None:
    text = """
    apiVersion: batch/v1
    kind: CronJob
    metadata: {name: nightly}
    status:
      lastScheduleTime: 2025-03-02T04:00:00+02:00
      lastSuccessfulTime: 2025-03-02T02:00:30Z
    """
    manifest = yaml.safe_load(text)
    assert isinstance(manifest["status"]["lastScheduleTime"], datetime)
    assert cronjob.assess(manifest).status is H

    manifest["status"]["lastSuccessfulTime"] = datetime(2025, 3, 2, 1, 59, tzinfo=UTC)
    assert cronjob.assess(manifest).status is D
    manifest["status"]["lastSuccessfulTime"] = datetime(
        2025, 3, 2, 3, 59, tzinfo=timezone(timedelta(hours=2))
    )
    assert cronjob.assess(manifest).status is D
