"""Destination matching: every case of testdata/destinations.yaml, by Argo CD's rules and messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gitloop.errors import UsageError
from gitloop.gitops.destinations import KnownCluster, destination_cluster
from gitloop.spec.argocd import Destination

TABLE = yaml.safe_load((Path(__file__).parent / "testdata" / "destinations.yaml").read_text())


@pytest.mark.parametrize("case", TABLE["cases"], ids=[c["case"] for c in TABLE["cases"]])
def test_destination_cluster(case: dict[str, Any]) -> None:
    clusters = [KnownCluster(c["name"], c["server"]) for c in case.get("clusters", TABLE["clusters"])]
    default = clusters[0] if clusters and case.get("default", True) else None
    destination = Destination(**case["destination"])
    if "error" in case:
        with pytest.raises(UsageError) as raised:
            destination_cluster(destination, clusters, default)
        assert str(raised.value) == case["error"]
    else:
        assert destination_cluster(destination, clusters, default).name == case["cluster"]
