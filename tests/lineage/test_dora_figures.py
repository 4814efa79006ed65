"""DORA's figures from hand-built deployments and failure signals: one row per case, the expected
figures computed by hand (times in seconds; the window is 10 days, the failure window 1h)."""

from __future__ import annotations

from typing import Any

import pytest

from gitloop.lineage.dora import Deployment, Failure, compute, environment_of, nearest_rank, select

DAY = 86400.0
UNTIL = 10 * DAY


def d(healthy: float, committed: float | None = None, counted: bool = True) -> Deployment:
    return Deployment("web-prod", f"r{healthy:g}", healthy, committed, counted)


def f(at: float, cause: str = "sync-failed") -> Failure:
    return Failure("web-prod", at, cause)


CASES: list[tuple[str, list[Deployment], list[Failure], dict[str, Any]]] = [
    (
        "steady, no failure",
        [d(1000, 400), d(2000, 1400), d(3000, 2000)],
        [],
        {"n": 3, "freq": 0.3, "lt": (600, 1000, 3), "failed": 0, "cfr": 0.0, "ttr": (None, 0, 0)},
    ),
    (
        "a failed sync, then its fix",
        [d(1000, 500), d(2500, 2000)],
        [f(1600)],
        {"n": 2, "freq": 0.2, "lt": (500, 500, 2), "failed": 1, "cfr": 0.5, "ttr": (900, 1, 0)},
    ),
    (
        "a failure past the failure window counts for nothing",
        [d(1000), d(9000)],
        [f(1000 + 3601)],
        {"n": 2, "freq": 0.2, "lt": (None, None, 0), "failed": 0, "cfr": 0.0, "ttr": (None, 0, 0)},
    ),
    (
        "a failure belongs to the last deployment before it",
        [d(1000), d(2000), d(3000)],
        [f(2500, "degraded")],
        {"n": 3, "freq": 0.3, "failed": 1, "cfr": 1 / 3, "ttr": (500, 1, 0), "causes": {"degraded": 1}},
    ),
    (
        "several signals fail one deployment once, restored from the first",
        [d(1000), d(2000)],
        [f(1100), f(1200, "degraded"), f(1300, "revert")],
        {"n": 2, "failed": 1, "cfr": 0.5, "ttr": (900, 1, 0), "causes": {"sync-failed": 1}},
    ),
    (
        "not restored yet",
        [d(1000)],
        [f(1500, "degraded")],
        {"n": 1, "failed": 1, "cfr": 1.0, "ttr": (None, 0, 1)},
    ),
    (
        "a successful rollback restores but is no deployment",
        [d(1000), d(2000), d(2400, counted=False)],
        [f(2300, "rollback")],
        {"n": 2, "failed": 1, "cfr": 0.5, "ttr": (100, 1, 0), "causes": {"rollback": 1}},
    ),
    (
        "deployments outside the window are not counted, nor their failures",
        [d(-100), d(500), d(UNTIL)],
        [f(100)],
        {"n": 1, "freq": 0.1, "failed": 0, "cfr": 0.0, "ttr": (None, 0, 0)},
    ),
    (
        "restore times: the median of the failed deployments' restores",
        [d(1000), d(2000), d(5000), d(9000), d(20000)],
        [f(1100), f(5100), f(9500)],
        {"n": 5, "failed": 3, "cfr": 0.6, "ttr": (3900, 3, 0)},
    ),
    (
        "a commit newer than its Healthy time (clock skew) is a lead time of 0",
        [d(1000, 1200), d(2000, 1000), d(3000, 1000)],
        [],
        {"n": 3, "lt": (1000, 2000, 3)},
    ),
    ("nothing", [], [f(100)], {"n": 0, "freq": 0.0, "failed": 0, "cfr": None, "ttr": (None, 0, 0)}),
]


@pytest.mark.parametrize(
    ("deploys", "failures", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_figures(deploys: list[Deployment], failures: list[Failure], expected: dict[str, Any]) -> None:
    report = compute(deploys, failures, since=0.0, until=UNTIL)
    (figures,) = report.applications
    assert figures.deployments == expected["n"]
    if "freq" in expected:
        assert figures.deployment_frequency_per_day == pytest.approx(expected["freq"])
    if "lt" in expected:
        assert (figures.lead_time_median, figures.lead_time_p90, figures.lead_time_count) == expected["lt"]
    if "failed" in expected:
        assert figures.failed_deployments == expected["failed"]
    if "cfr" in expected:
        assert figures.change_failure_rate == (
            None if expected["cfr"] is None else pytest.approx(expected["cfr"])
        )
    if "ttr" in expected:
        assert (figures.time_to_restore_median, figures.restores, figures.unrestored) == expected["ttr"]
    if "causes" in expected:
        assert figures.failure_causes == expected["causes"]


def test_environments_pool_their_applications() -> None:
    deploys = [
        Deployment("web-prod", "a", 1000, 400),
        Deployment("web-prod", "b", 3000, 2900),
        Deployment("api-prod", "c", 2000, 1800),
        Deployment("web-dev", "d", 500, 400),
    ]
    failures = [Failure("api-prod", 2100, "sync-failed")]
    report = compute(deploys, failures, since=0.0, until=2 * DAY)
    assert [a.name for a in report.applications] == ["api-prod", "web-dev", "web-prod"]
    envs = {e.name: e for e in report.environments}
    assert set(envs) == {"dev", "prod"}
    prod = envs["prod"]
    assert prod.applications == ("api-prod", "web-prod")
    assert prod.deployments == 3
    assert prod.deployment_frequency_per_day == pytest.approx(1.5)
    assert (prod.lead_time_median, prod.lead_time_p90) == (200, 600)
    assert prod.change_failure_rate == pytest.approx(1 / 3)
    assert prod.time_to_restore_median is None and prod.unrestored == 1
    narrowed = select(report, env="dev")
    assert [a.name for a in narrowed.applications] == ["web-dev"]
    assert [e.name for e in narrowed.environments] == ["dev"]
    only = select(report, app="web-prod")
    assert [a.name for a in only.applications] == ["web-prod"]
    assert [e.name for e in only.environments] == ["prod"]
    assert report.to_dict()["environments"][1]["changeFailureRate"] == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    ("app", "env"),
    [("web-prod", "prod"), ("web", "web"), ("my-app-staging", "staging"), ("-x", "-x"), ("a-", "a-")],
)
def test_environment_of(app: str, env: str) -> None:
    assert environment_of(app) == env


@pytest.mark.parametrize(
    ("values", "quantile", "expected"),
    [
        ([], 0.9, None),
        ([5.0], 0.9, 5.0),
        ([1.0, 2.0], 0.9, 2.0),
        ([float(i) for i in range(1, 11)], 0.9, 9.0),
    ],
)
def test_nearest_rank(values: list[float], quantile: float, expected: float | None) -> None:
    assert nearest_rank(values, quantile) == expected
