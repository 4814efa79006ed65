"""``gitloop cluster`` end to end: a second cluster beside the session's, idempotent ``up``, a clean
``down``, and stale state detection. Runs the real CLI in subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gitloop.localinfra import processes
from gitloop.localinfra.cluster import LocalCluster

pytestmark = pytest.mark.integration


def _gitloop(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GITLOOP_STATE_DIR": str(state)}
    return subprocess.run(
        [sys.executable, "-m", "gitloop", "cluster", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_second_cluster_up_twice_is_noop_and_down_leaves_nothing(
    local_cluster: LocalCluster, infra_state_dir: Path
) -> None:
    first = _gitloop(infra_state_dir, "up", "--name", "b")
    assert first.returncode == 0, first.stderr
    assert "is up" in first.stderr

    state_file = infra_state_dir / "clusters" / "b" / "state.json"
    recorded = [processes.Recorded.from_json(p) for p in json.loads(state_file.read_text())["processes"]]
    assert {p.role for p in recorded} >= {"etcd", "kube-apiserver", "kube-scheduler", "kubemark/b-node-1"}
    assert all(processes.alive(p) for p in recorded)

    # Both clusters run side by side, each answering on its own port.
    a_status = local_cluster.status()
    b_status = LocalCluster("b", root=infra_state_dir).status()
    assert a_status.state == b_status.state == "running"
    assert a_status.server != b_status.server
    with LocalCluster("b", root=infra_state_dir).client() as c:
        assert [n["metadata"]["name"] for n in c.get("/api/v1/nodes").json()["items"]] == ["b-node-1"]

    second = _gitloop(infra_state_dir, "up", "--name", "b")
    assert second.returncode == 0, second.stderr
    assert "already running" in second.stderr
    again = [processes.Recorded.from_json(p) for p in json.loads(state_file.read_text())["processes"]]
    assert again == recorded, "a second up starts nothing"

    kubeconfig = _gitloop(infra_state_dir, "kubeconfig", "--name", "b")
    assert Path(kubeconfig.stdout.strip()).is_file()

    down = _gitloop(infra_state_dir, "down", "--name", "b")
    assert down.returncode == 0, down.stderr
    assert not any(processes.alive(p) for p in recorded)
    assert not state_file.exists()
    assert local_cluster.status().state == "running", "the other cluster is untouched"

    status = _gitloop(infra_state_dir, "status", "--name", "b")
    assert status.returncode == 1 and "not running" in status.stdout


def test_stale_pid_file_is_detected(infra_state_dir: Path) -> None:
    lc = LocalCluster("stale", root=infra_state_dir)
    lc.dir.mkdir(parents=True)
    gone = processes.Recorded("etcd", pid=2**22 + 17, start_time=1, log="/dev/null")
    lc.state_file.write_text(
        json.dumps(
            {"name": "stale", "api_port": 1, "etcd_port": 2, "nodes": [], "processes": [gone.to_json()]}
        )
    )
    st = lc.status()
    assert st.state == "stale" and st.dead == ("etcd",)
    assert lc.down() is True
    assert not lc.dir.exists()


def test_bad_name_is_a_usage_error(infra_state_dir: Path) -> None:
    res = _gitloop(infra_state_dir, "up", "--name", "Bad_Name")
    assert res.returncode == 2
    assert "cluster name 'Bad_Name'" in res.stderr
