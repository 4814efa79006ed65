"""Seed 003 as its user wrote it, end to end: ``gitops-ci-pipeline`` with its ``yq-update`` Task, the
built-in ``git-clone``/``kaniko``/``git-cli`` (``resolver: hub``) and its v1 PipelineRun (with the v1beta1
``serviceAccountName``, accepted with a warning), run by ``gitloop pipeline run`` against two
repositories of the local git server. Only the repository URLs change (``-p git-url``, ``-p
gitops-repo-url``); the namespace file holds what the seed takes as already there (its ``git-version``
and ``run-tests`` Tasks, its Secrets, its ServiceAccount). The run must leave the config commit.

The ``yq-update`` step runs ``yq eval -i``: mikefarah's yq v4, which the local executor finds on the
host; where the host's ``yq`` is another program (Debian's is a jq wrapper), the steps get ``yq`` from
yaqpy (the dev extra: a pure-Python reimplementation of mikefarah's yq); neither is a missing real part.
``kaniko`` records the build instead of pushing it: the
test gives the steps a ``PATH`` without podman, as on a machine without it (pushing needs a registry;
``test_catalog_tasks`` covers kaniko with podman)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gitloop.localinfra.gitseed import checkout, commit_files
from gitloop.localinfra.gitserver import GitServer
from realparts import missing

pytestmark = pytest.mark.integration

SEED = Path(__file__).parent / "testdata" / "seed003"
KUSTOMIZATION = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../base
"""


def _mikefarah_yq(bin_dir: Path) -> None:
    """Leave the host's ``yq`` if it is mikefarah's, else put a ``yq`` running yaqpy in ``bin_dir``."""
    yq = shutil.which("yq")
    version = subprocess.run([yq, "--version"], capture_output=True, text=True, check=False) if yq else None
    if version is not None and "mikefarah" in version.stdout + version.stderr:
        return
    found = importlib.util.find_spec("yaqpy")
    if found is None or found.origin is None:
        missing(
            "the seed's yq-update step needs mikefarah's yq v4 on PATH, or yaqpy (pip install -e '.[dev]')"
        )
    root = Path(found.origin).parent.parent
    launcher = bin_dir / "yq"
    launcher.write_text(
        f'#!/bin/sh\nPYTHONPATH="{root}" exec "{sys.executable}" -W ignore -c '
        '"import sys; from yaqpy.cli.main import main; sys.argv[0] = \'yq\'; sys.exit(main())" "$@"\n'
    )
    launcher.chmod(0o755)


def _steps_path(tmp_path: Path) -> str:
    """``$PATH`` for the run: a mikefarah-compatible ``yq``, then every program but podman, through a
    directory of links."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _mikefarah_yq(bin_dir)
    for directory in os.environ["PATH"].split(os.pathsep):
        if not Path(directory).is_dir():
            continue
        for entry in os.scandir(directory):
            link = bin_dir / entry.name
            if entry.name != "podman" and not link.exists() and os.access(entry.path, os.X_OK):
                link.symlink_to(entry.path)
    return str(bin_dir)


def test_seed_003_pipeline_as_written_makes_the_config_commit(git_server: GitServer, tmp_path: Path) -> None:
    steps_path = _steps_path(tmp_path)
    source = git_server.create_repo("seed003-myapp", exist_ok=True)
    config = git_server.create_repo("seed003-gitops-repo", exist_ok=True)
    source_sha = commit_files(
        source,
        {"VERSION": "2.1.0", "Dockerfile": "FROM scratch\nCOPY VERSION /\n", "test.sh": "test -s VERSION\n"},
        "myapp 2.1.0",
    )
    before = commit_files(config, {"overlays/production/kustomization.yaml": KUSTOMIZATION}, "production")

    env = {
        **os.environ,
        "GITLOOP_STATE_DIR": str(tmp_path / "state"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "PATH": steps_path,
    }
    args = ["-f", str(SEED / "gitops-ci.yaml"), "-f", str(SEED / "namespace.yaml")]
    args += ["-p", f"git-url={source}", "-p", f"gitops-repo-url={config}"]
    done = subprocess.run(
        [sys.executable, "-m", "gitloop", "pipeline", "run", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    shown = done.stdout + done.stderr
    assert done.returncode == 0, shown
    assert "PipelineRun gitops-ci-run-" in done.stdout and " Succeeded: Tasks Completed: 7 " in done.stdout
    assert "spec.serviceAccountName is the tekton.dev/v1beta1 spelling" in done.stderr
    assert "ServiceAccount 'gitops-pipeline-sa'" in done.stderr and "not applicable locally" in done.stderr

    image = f"myregistry.com/myapp:2.1.0-{source_sha[:7]}"
    work = tmp_path / "gitops-after"
    after = checkout(config, work)
    assert after != before
    message = subprocess.run(
        ["git", "log", "-1", "--format=%s|%an"], cwd=work, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert message == f"Update image to {image}|Tekton Pipeline"
    written = (work / "overlays" / "production" / "kustomization.yaml").read_text()
    assert "resources:" in written and f"image: {image}" in written
