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
