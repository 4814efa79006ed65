"""Session fixtures shared by the whole suite: real local Kubernetes control planes.

Nothing here is a mock: ``local_cluster`` runs etcd, kube-apiserver, the controllers and a hollow
node from the binaries ``make test`` built (it builds them itself if they are missing), in a
temporary state directory so it never touches a user's own clusters. ``second_cluster`` is another
one beside it, for the tests that deploy to several clusters.
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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Build the control plane's binaries before the first test that needs them, once and outside any
    test's timeout (on a fresh machine the build takes about ten minutes; ``make test`` builds them first)."""
    if config.option.collectonly or kubebuild.cached():
        return
    clusters = {"local_cluster", "second_cluster"}
    if any(clusters.intersection(getattr(item, "fixturenames", ())) for item in items):
        kubebuild.build()


@pytest.fixture(scope="session")
def infra_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state directory of the test session's own (clusters, git servers)."""
    return tmp_path_factory.mktemp("gitloop-state")


def _running(name: str, root: Path) -> Iterator[LocalCluster]:
    kubebuild.build()
    lc = LocalCluster(name, root=root)
    lc.up(nodes=1, timeout=180)
    try:
        yield lc
    finally:
        lc.down()


@pytest.fixture(scope="session")
def local_cluster(infra_state_dir: Path) -> Iterator[LocalCluster]:
    """A running local cluster named ``test-a`` with one Ready hollow node."""
    yield from _running("test-a", infra_state_dir)


@pytest.fixture(scope="session")
def second_cluster(infra_state_dir: Path) -> Iterator[LocalCluster]:
    """Another running local cluster, ``test-b``, with one Ready hollow node (its own ports and PKI)."""
    yield from _running("test-b", infra_state_dir)
