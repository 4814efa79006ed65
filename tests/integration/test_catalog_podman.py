"""The built-in catalog Tasks under ``gitloop pipeline run --executor podman``, in the image their steps
name by default (``localhost/gitloop/tools:latest``): git-clone clones the app from the local git server,
kaniko (``BUILDER=record``: python3 in the image) reports the build's digest, git-clone clones the config
repository, gitloop-image-update (gitloop in the image) commits the image reference and pushes, and
git-cli checks the pushed file with the image's ``yq`` and that its kubectl and helm run.

The image is built by the same builder as ``make tools-image`` (``gitloop.localinfra.images``) when it is
absent or its inputs changed, once per session; podman and, for a first build, debootstrap are real
parts: missing, the test fails under CI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gitloop.errors import UsageError
from gitloop.executors.podman import podman_available
from gitloop.localinfra.gitseed import checkout, commit_files
from gitloop.localinfra.gitserver import GitServer
from gitloop.localinfra.images import TOOLS_IMAGE, Outcome, ensure_tools_image
from realparts import missing

pytestmark = pytest.mark.integration

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: myapp
spec:
  template:
    spec:
      containers:
        - name: myapp
          image: registry.example/myapp:0.0.1
"""

PIPELINE = r"""
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: catalog-in-podman}
spec:
  params:
    - {name: source-url}
    - {name: config-url}
  workspaces:
    - {name: source}
    - {name: config}
  tasks:
    - name: clone-source
      taskRef: {name: git-clone}
      workspaces: [{name: output, workspace: source}]
      params: [{name: url, value: $(params.source-url)}]
    - name: build
      runAfter: [clone-source]
      taskRef: {name: kaniko}
      workspaces: [{name: source, workspace: source}]
      params:
        - {name: IMAGE, value: "registry.example/myapp:$(tasks.clone-source.results.commit)"}
        - {name: BUILDER, value: record}
    - name: clone-config
      runAfter: [build]
      taskRef: {name: git-clone}
      workspaces: [{name: output, workspace: config}]
      params: [{name: url, value: $(params.config-url)}]
    - name: update
      runAfter: [clone-config]
      taskRef: {name: gitloop-image-update}
      workspaces: [{name: source, workspace: config}]
      params:
        - {name: file, value: k8s/deployment.yaml}
        - {name: path, value: ".spec.template.spec.containers[0].image"}
        - {name: image, value: "registry.example/myapp@$(tasks.build.results.IMAGE_DIGEST)"}
        - {name: source-commit, value: $(tasks.clone-source.results.commit)}
    - name: check
      runAfter: [update]
      taskRef: {name: git-cli}
      workspaces: [{name: source, workspace: config}]
      params:
        - name: GIT_SCRIPT
          value: |
            git pull -q origin main
            test "$(yq '.spec.template.spec.containers[0].image' k8s/deployment.yaml)" \
              = "registry.example/myapp@$(tasks.build.results.IMAGE_DIGEST)"
            kubectl version --client
            helm version --short
  results:
    - {name: digest, value: $(tasks.build.results.IMAGE_DIGEST)}
    - {name: config-commit, value: $(tasks.update.results.commit)}
    - {name: checked, value: $(tasks.check.results.commit)}
---
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {generateName: catalog-in-podman-}
spec:
  pipelineRef: {name: catalog-in-podman}
  params:
    - {name: source-url, value: SOURCE_URL}
    - {name: config-url, value: CONFIG_URL}
  workspaces:
    - name: source
      volumeClaimTemplate:
        spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 100Mi}}}
    - name: config
      volumeClaimTemplate:
        spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 100Mi}}}
"""


@pytest.fixture(scope="session")
def tools_image() -> Outcome:
    """The catalog's default step image, built through ``make tools-image``'s builder unless current."""
    why = podman_available()
    if why:
        missing(why)
    started = time.monotonic()
    try:
        outcome = ensure_tools_image(progress=lambda line: print(f"tools-image: {line}", flush=True))
    except UsageError as exc:  # debootstrap or podman missing, no Debian mirror configured
        missing(str(exc))
    print(f"tools-image: ready in {time.monotonic() - started:.0f} s (built: {outcome.built})")
    return outcome


def _gitloop(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "home").mkdir(exist_ok=True)
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
        "HOME": str(tmp_path / "home"),
        "GITLOOP_STATE_DIR": str(tmp_path / "state"),
        "LANG": "C.UTF-8",
    }
    for name in ("PYTHONPATH", "CONTAINERS_CONF"):
        if name in os.environ:
            env[name] = os.environ[name]
    return subprocess.run(
        [sys.executable, "-m", "gitloop", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_catalog_tasks_run_in_the_tools_image(
    tools_image: Outcome, git_server: GitServer, tmp_path: Path
) -> None:
    assert tools_image.image == TOOLS_IMAGE
    source = git_server.create_repo("podman-catalog-app", exist_ok=True)
    config = git_server.create_repo("podman-catalog-config", exist_ok=True)
    source_sha = commit_files(
        source, {"Dockerfile": "FROM scratch\nCOPY app.txt /\n", "app.txt": "hello\n"}, "app: first"
    )
    before = commit_files(config, {"k8s/deployment.yaml": DEPLOYMENT}, "initial config")
    path = tmp_path / "pipeline.yaml"
    path.write_text(PIPELINE.replace("SOURCE_URL", source).replace("CONFIG_URL", config))

    proc = _gitloop(tmp_path, "pipeline", "run", "-f", str(path), "--executor", "podman", "-o", "json")

    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    run: dict[str, Any] = json.loads(proc.stdout[proc.stdout.index("{") :])
    assert run["status"]["conditions"][0]["reason"] == "Succeeded"
    results = {r["name"]: r["value"] for r in run["status"]["results"]}
    assert results["digest"].startswith("sha256:") and len(results["digest"]) == 71
    work = tmp_path / "config-after"
    after = checkout(config, work)
    assert after != before and results["config-commit"] == after == results["checked"]
    image = f"registry.example/myapp@{results['digest']}"
    assert (work / "k8s" / "deployment.yaml").read_text() == DEPLOYMENT.replace(
        "registry.example/myapp:0.0.1", image
    )
    message = subprocess.run(
        ["git", "log", "-1", "--format=%B"], cwd=work, capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert f"Gitloop-Source-Commit: {source_sha}" in message
    assert f"Gitloop-PipelineRun: {run['metadata']['name']}" in message
