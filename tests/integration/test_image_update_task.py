"""Acceptance scenario 1, run by ``gitloop pipeline run`` against the local git server: the seed's
"Complete CI Pipeline" with its params and workspaces, the hub Tasks (``git-clone``, ``kaniko``) from
gitloop's built-in catalog, and the seed's ``yq-update`` + ``git-commit-push`` replaced by the built-in
``gitloop-image-update`` (as docs/catalog.md shows). It leaves exactly one new config commit whose image
is ``image-name:<short SHA>``, with trailers naming the source commit and the PipelineRun.

gitloop runs with a ``PATH`` that does not hold its virtualenv: the step finds ``gitloop`` through the
local executor's tool directory. The built-in Task also works on its own, cloning its ``url`` param and
setting a kustomization's ``images:`` entry.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gitloop.localinfra.gitseed import checkout, commit_files
from gitloop.localinfra.gitserver import GitServer

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
        # the app itself; its tag is set by CI
        - name: myapp
          image: myregistry.com/myapp:0.0.1
          ports: [{containerPort: 8080}]
"""

SEED_PIPELINE = r"""
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: git-version}
spec:
  workspaces: [{name: source}]
  results: [{name: version}]
  steps:
    - name: version
      image: alpine/git
      workingDir: $(workspaces.source.path)
      script: |
        printf '%s' "$(git rev-parse --short=7 HEAD)" > $(results.version.path)
---
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: run-tests}
spec:
  workspaces: [{name: source}]
  steps:
    - {name: test, image: alpine, workingDir: $(workspaces.source.path), script: sh test.sh}
---
apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: gitops-ci-pipeline
spec:
  params:
    - name: git-url
      description: Application source repository
    - name: git-revision
      description: Git commit/branch
      default: main
    - name: image-name
      description: Container image name
    - name: gitops-repo-url
      description: GitOps repository URL
    - name: gitops-branch
      description: GitOps repository branch
      default: main
    - name: deployment-file
      description: Path to deployment file
      default: k8s/deployment.yaml
  workspaces:
    - name: source-code
    - name: gitops-repo
    - name: docker-credentials
    - name: git-credentials
  tasks:
    - name: clone-source
      taskRef:
        resolver: hub
        params:
          - name: name
            value: git-clone
      workspaces:
        - name: output
          workspace: source-code
        - name: ssh-directory
          workspace: git-credentials
      params:
        - name: url
          value: $(params.git-url)
        - name: revision
          value: $(params.git-revision)
    - name: get-version
      runAfter: [clone-source]
      taskRef:
        name: git-version
      workspaces:
        - name: source
          workspace: source-code
    - name: test
      runAfter: [clone-source]
      taskRef:
        name: run-tests
      workspaces:
        - name: source
          workspace: source-code
    - name: build-push
      runAfter: [test, get-version]
      taskRef:
        resolver: hub
        params:
          - name: name
            value: kaniko
      workspaces:
        - name: source
          workspace: source-code
        - name: dockerconfig
          workspace: docker-credentials
      params:
        - name: IMAGE
          value: $(params.image-name):$(tasks.get-version.results.version)
        - name: EXTRA_ARGS
          value:
            - --cache=true
        - {name: BUILDER, value: record}
        - {name: BUILD_RECORD_DIR, value: BUILD_RECORDS}
    - name: clone-gitops
      runAfter: [build-push]
      taskRef:
        resolver: hub
        params:
          - name: name
            value: git-clone
      workspaces:
        - name: output
          workspace: gitops-repo
        - name: ssh-directory
          workspace: git-credentials
      params:
        - name: url
          value: $(params.gitops-repo-url)
        - name: revision
          value: $(params.gitops-branch)
    - name: update-manifest
      runAfter: [clone-gitops]
      taskRef:
        resolver: hub
        params:
          - {name: name, value: gitloop-image-update}
      workspaces:
        - {name: source, workspace: gitops-repo}
        - {name: ssh-directory, workspace: git-credentials}
      params:
        - {name: file, value: $(params.deployment-file)}
        - {name: path, value: ".spec.template.spec.containers[0].image"}
        - {name: image, value: "$(params.image-name):$(tasks.get-version.results.version)"}
        - {name: branch, value: $(params.gitops-branch)}
        - {name: source-commit, value: $(tasks.clone-source.results.commit)}
        - {name: message, value: "Update image to {image}"}
  results:
    - {name: config-commit, value: $(tasks.update-manifest.results.commit)}
---
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  generateName: gitops-ci-run-
spec:
  pipelineRef:
    name: gitops-ci-pipeline
  params:
    - name: git-url
      value: SOURCE_URL
    - name: git-revision
      value: main
    - name: image-name
      value: myregistry.com/myapp
    - name: gitops-repo-url
      value: CONFIG_URL
    - name: gitops-branch
      value: main
    - name: deployment-file
      value: k8s/deployment.yaml
  workspaces:
    - name: source-code
      volumeClaimTemplate:
        spec:
          accessModes: [ReadWriteOnce]
          resources: {requests: {storage: 1Gi}}
    - name: gitops-repo
      volumeClaimTemplate:
        spec:
          accessModes: [ReadWriteOnce]
          resources: {requests: {storage: 500Mi}}
    - name: docker-credentials
      emptyDir: {}
    - name: git-credentials
      emptyDir: {}
"""

KUSTOMIZATION = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [../../base]
images:
  - name: myregistry.com/myapp
    newTag: "0.0.1"  # set by CI
"""

TASK_RUN = """\
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: image-update-by-url}
spec:
  taskRef: {name: gitloop-image-update}
  params:
    - {name: url, value: CONFIG_URL}
    - {name: file, value: overlays/dev/kustomization.yaml}
    - {name: image, value: "myregistry.com/myapp=myregistry.com/myapp:2.0.0"}
    - {name: source-commit, value: 0123456789abcdef0123456789abcdef01234567}
    - {name: pipelinerun, value: release-42}
"""


def _gitloop(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``gitloop`` as a user runs it from the virtualenv, with a PATH that does not hold the venv."""
    (tmp_path / "home").mkdir(exist_ok=True)
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "GITLOOP_STATE_DIR": str(tmp_path / "state"),
        "LANG": "C.UTF-8",
    }
    return subprocess.run(
        [sys.executable, "-m", "gitloop", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def _git(work: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=work, capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()


def _finished(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    start = proc.stdout.index("{")
    run: dict[str, Any] = json.loads(proc.stdout[start:])
    return run


def _results(run: dict[str, Any]) -> dict[str, str]:
    return {r["name"]: r["value"] for r in run["status"].get("results", [])}


def test_seed_ci_pipeline_with_the_image_update_task(git_server: GitServer, tmp_path: Path) -> None:
    source = git_server.create_repo("seed-app-source", exist_ok=True)
    config = git_server.create_repo("seed-app-config", exist_ok=True)
    source_sha = commit_files(
        source,
        {"Dockerfile": "FROM scratch\nCOPY app.py /\n", "app.py": "print('hi')\n", "test.sh": "echo ok\n"},
        "myapp: a change",
    )
    before = commit_files(config, {"k8s/deployment.yaml": DEPLOYMENT}, "initial config")
    text = SEED_PIPELINE.replace("SOURCE_URL", source).replace("CONFIG_URL", config)
    path = tmp_path / "seed-ci.yaml"
    path.write_text(text.replace("BUILD_RECORDS", str(tmp_path / "builds")))

    run = _finished(_gitloop(tmp_path, "pipeline", "run", "-f", str(path), "-o", "json"))

    assert run["status"]["conditions"][0]["reason"] == "Succeeded"
    work = tmp_path / "config-after"
    after = checkout(config, work)
    assert _git(work, "rev-list", "--count", f"{before}..{after}") == "1", "exactly one new config commit"
    assert _results(run) == {"config-commit": after}
    image = f"myregistry.com/myapp:{source_sha[:7]}"
    expected = DEPLOYMENT.replace("myregistry.com/myapp:0.0.1", image)
    assert (work / "k8s" / "deployment.yaml").read_text() == expected, "only the image changed"
    message = _git(work, "log", "-1", "--format=%B")
    assert message.startswith(f"Update image to {image}\n")
    assert f"Gitloop-Source-Commit: {source_sha}" in message
    assert f"Gitloop-PipelineRun: {run['metadata']['name']}" in message
    assert f"Gitloop-Image: {image}" in message


def test_image_update_task_clones_its_url_and_sets_a_kustomization(
    git_server: GitServer, tmp_path: Path
) -> None:
    config = git_server.create_repo("url-app-config", exist_ok=True)
    before = commit_files(config, {"overlays/dev/kustomization.yaml": KUSTOMIZATION}, "initial")
    path = tmp_path / "taskrun.yaml"
    path.write_text(TASK_RUN.replace("CONFIG_URL", config))

    run = _finished(_gitloop(tmp_path, "task", "run", "-f", str(path), "-o", "json"))

    work = tmp_path / "config-after"
    after = checkout(config, work)
    assert after != before and _results(run) == {"commit": after}
    text = (work / "overlays" / "dev" / "kustomization.yaml").read_text()
    assert 'newTag: "2.0.0"  # set by CI' in text and "0.0.1" not in text, text
    message = _git(work, "log", "-1", "--format=%B")
    assert "Gitloop-PipelineRun: release-42" in message

    again = _finished(_gitloop(tmp_path, "task", "run", "-f", str(path), "-o", "json"))
    assert _results(again) == {"commit": after}, "no change, no commit"
    assert checkout(config, tmp_path / "config-again") == after
