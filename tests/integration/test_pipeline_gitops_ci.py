"""The issue's acceptance pipeline, run for real: shaped like the seed GitOps CI pipeline (clone source ->
get-version -> test -> build -> clone config repo -> update manifest -> commit and push), against
repositories on the local git server, with the built-in ``git-clone``/``git-cli``/``kaniko`` Tasks
(``resolver: hub``). It must leave a new commit on the config repository with the image tag changed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gitloop.localinfra.gitseed import checkout, commit_files
from gitloop.localinfra.gitserver import GitServer
from gitloop.pipeline.state import PipelineRunState, TaskRunState
from gitloop.service.pipelines import RunRequest, execute, prepare_pipeline_run

pytestmark = pytest.mark.integration

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  template:
    spec:
      containers:
        - name: app
          image: registry.local/app:0.0.1
"""

PIPELINE = r"""
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
        printf '%s-%s' "$(cat VERSION)" "$(git rev-parse --short HEAD)" > $(results.version.path)
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
kind: Task
metadata: {name: set-image}
spec:
  params: [{name: file}, {name: container}, {name: image}]
  workspaces: [{name: source}]
  steps:
    - name: update
      image: python:3
      workingDir: $(workspaces.source.path)
      script: |
        #!/usr/bin/env python3
        import re, pathlib
        path = pathlib.Path("$(params.file)")
        text = path.read_text()
        pattern = r"(- name: $(params.container)\n\s+image: )\S+"
        path.write_text(re.sub(pattern, lambda m: m.group(1) + "$(params.image)", text))
        print("set", "$(params.container)", "to", "$(params.image)", "in", path)
---
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: gitops-ci}
spec:
  params:
    - {name: git-url}
    - {name: git-revision, default: main}
    - {name: image-name}
    - {name: gitops-repo-url}
    - {name: gitops-branch, default: main}
    - {name: deployment-file, default: k8s/deployment.yaml}
  workspaces: [{name: source-code}, {name: gitops-repo}, {name: docker-credentials}, {name: git-credentials}]
  results:
    - {name: image, value: $(tasks.build-push.results.IMAGE_URL)}
  tasks:
    - name: clone-source
      taskRef: {resolver: hub, params: [{name: name, value: git-clone}]}
      workspaces: [{name: output, workspace: source-code}, {name: ssh-directory, workspace: git-credentials}]
      params: [{name: url, value: $(params.git-url)}, {name: revision, value: $(params.git-revision)}]
    - name: get-version
      runAfter: [clone-source]
      taskRef: {name: git-version}
      workspaces: [{name: source, workspace: source-code}]
    - name: test
      runAfter: [clone-source]
      taskRef: {name: run-tests}
      workspaces: [{name: source, workspace: source-code}]
    - name: build-push
      runAfter: [test, get-version]
      taskRef: {resolver: hub, params: [{name: name, value: kaniko}]}
      workspaces: [{name: source, workspace: source-code}, {name: dockerconfig, workspace: docker-credentials}]
      params:
        - {name: IMAGE, value: "$(params.image-name):$(tasks.get-version.results.version)"}
        - {name: BUILDER, value: record}
        - {name: BUILD_RECORD_DIR, value: $(workspaces.build-records.path)}
    - name: clone-gitops
      runAfter: [build-push]
      taskRef: {resolver: hub, params: [{name: name, value: git-clone}]}
      workspaces: [{name: output, workspace: gitops-repo}, {name: ssh-directory, workspace: git-credentials}]
      params: [{name: url, value: $(params.gitops-repo-url)}, {name: revision, value: $(params.gitops-branch)}]
    - name: update-manifest
      runAfter: [clone-gitops]
      taskRef: {name: set-image}
      workspaces: [{name: source, workspace: gitops-repo}]
      params:
        - {name: file, value: $(params.deployment-file)}
        - {name: container, value: app}
        - {name: image, value: "$(params.image-name):$(tasks.get-version.results.version)"}
    - name: commit-push
      runAfter: [update-manifest]
      taskRef: {resolver: hub, params: [{name: name, value: git-cli}]}
      workspaces: [{name: source, workspace: gitops-repo}, {name: ssh-directory, workspace: git-credentials}]
      params:
        - {name: GIT_USER_NAME, value: gitloop}
        - {name: GIT_USER_EMAIL, value: ci@gitloop.invalid}
        - name: GIT_SCRIPT
          value: |
            git checkout -B $(params.gitops-branch)
            git add $(params.deployment-file)
            git commit -m "image $(params.image-name):$(tasks.get-version.results.version)"
            git push origin HEAD:$(params.gitops-branch)
---
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {generateName: gitops-ci-run-}
spec:
  pipelineRef: {name: gitops-ci}
  params:
    - {name: git-url, value: SOURCE_URL}
    - {name: image-name, value: registry.local/app}
    - {name: gitops-repo-url, value: CONFIG_URL}
  workspaces:
    - name: source-code
      volumeClaimTemplate: {spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}}
    - name: gitops-repo
      volumeClaimTemplate: {spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}}
    - {name: docker-credentials, emptyDir: {}}
    - {name: git-credentials, emptyDir: {}}
"""


class _Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def log(self, source: str, line: str) -> None:
        self.lines.append(f"[{source}] {line}")

    def changed(self, state: PipelineRunState | TaskRunState) -> None:
        return None

    def notice(self, message: str) -> None:
        self.lines.append(message)


def test_gitops_ci_pipeline_commits_the_new_image_tag(
    git_server: GitServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITLOOP_STATE_DIR", str(tmp_path / "state"))
    source = git_server.create_repo("ci-app-source", exist_ok=True)
    config = git_server.create_repo("ci-app-config", exist_ok=True)
    source_sha = commit_files(
        source,
        {
            "VERSION": "1.4.0",
            "Dockerfile": "FROM scratch\nCOPY VERSION /\n",
            "test.sh": "test -s VERSION && echo tests pass\n",
        },
        "app 1.4.0",
    )
    before = commit_files(config, {"k8s/deployment.yaml": DEPLOYMENT}, "initial config")
    text = PIPELINE.replace("SOURCE_URL", source).replace("CONFIG_URL", config)
    text = text.replace("$(workspaces.build-records.path)", str(tmp_path / "builds"))
    path = tmp_path / "gitops-ci.yaml"
    path.write_text(text)

    view = _Lines()
    result = execute(prepare_pipeline_run(RunRequest([path])), view, handle_signals=False)

    log = "\n".join(view.lines)
    assert result.succeeded, f"{result.manifest['status']}\n{log}"
    tag = f"1.4.0-{source_sha[:7]}"
    assert result.manifest["status"]["results"] == [{"name": "image", "value": f"registry.local/app:{tag}"}]
    assert "[test/test] tests pass" in log
    work = tmp_path / "config-after"
    after = checkout(config, work)
    assert after != before
    assert f"image: registry.local/app:{tag}" in (work / "k8s" / "deployment.yaml").read_text()
    message = subprocess.run(
        ["git", "log", "-1", "--format=%s %an"], cwd=work, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert message == f"image registry.local/app:{tag} gitloop"
