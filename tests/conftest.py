"""Session fixtures shared by the whole suite: a real local Kubernetes control plane.

Nothing here is a mock: ``local_cluster`` runs etcd, kube-apiserver, the controllers and a hollow
node from the binaries ``make test`` built (it builds them itself if they are missing), in a
temporary state directory so it never touches a user's own clusters.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gitloop.localinfra import kubebuild
from gitloop.localinfra.cluster import LocalCluster
from realparts import under_ci


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under CI no test may skip: a skip there hides a part ``make test`` failed to install."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if under_ci() and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.longrepr = f"skipped under CI=true, which must run every test: {reason}"


@pytest.fixture(scope="session")
def infra_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state directory of the test session's own (clusters, git servers)."""
    return tmp_path_factory.mktemp("gitloop-state")


@pytest.fixture(scope="session")
def local_cluster(infra_state_dir: Path) -> Iterator[LocalCluster]:
    """A running local cluster named ``test-a`` with one Ready hollow node."""
    kubebuild.build()
    lc = LocalCluster("test-a", root=infra_state_dir)
    lc.up(nodes=1, timeout=180)
    try:
        yield lc
    finally:
        lc.down()
