"""StepActions really run with the local executor: one from the files and one fetched by the ``git``
resolver from the real local git server, params bound from the steps, a step result read by a later
step and by the Task's result (Tekton's docs/stepactions.md)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gitloop.cli.main import cli
from gitloop.localinfra.gitserver import GitServer

pytestmark = pytest.mark.integration

REMOTE_ACTION = """\
apiVersion: tekton.dev/v1beta1
kind: StepAction
metadata: {name: shout}
spec:
  params: [{name: text}]
  results: [{name: loud}]
  image: alpine
  script: |
    printf '%s' "$(params.text)" | tr a-z A-Z > $(step.results.loud.path)
    echo "shouted $(params.text)"
"""

RUN = """\
apiVersion: tekton.dev/v1beta1
kind: StepAction
metadata: {name: greet}
spec:
  params:
    - {name: who}
    - {name: greeting, default: hello}
    - {name: words, type: array, default: []}
  results: [{name: said}]
  image: alpine
  env: [{name: WHO, value: $(params.who)}]
  args: ["$(params.words[*])"]
  script: |
    printf '%s' "$(params.greeting) $WHO $*" > $(step.results.said.path)
    echo "greeted $WHO with $# words"
---
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: actions}
spec:
  params: [{name: name, value: world}, {name: list, value: [a, b]}]
  taskSpec:
    params: [{name: name}, {name: list, type: array}]
    results:
      - {name: greeting, value: $(steps.first.results.said)}
      - {name: shouted, value: $(steps.remote.results.loud)}
    steps:
      - name: first
        ref: {name: greet}
        params: [{name: who, value: $(params.name)}, {name: words, value: "$(params.list[*])"}]
      - name: remote
        ref:
          resolver: git
          params:
            - {name: url, value: URL}
            - {name: pathInRepo, value: actions/shout.yaml}
        params: [{name: text, value: "$(steps.first.results.said)"}]
      - name: last
        image: alpine
        script: echo "last saw [$(steps.remote.results.loud)]"
"""


def _git(env: Mapping[str, str], *args: str, cwd: Path) -> None:
    proc = subprocess.run(["git", *args], env=dict(env), cwd=cwd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"


def _manifest(stdout: str) -> dict[str, Any]:
    """The TaskRun of ``-o json`` (an object, or the one object of a list of runs)."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line in ("{", "["))
    found = json.loads("\n".join(lines[start:]))
    manifest: dict[str, Any] = found[0] if isinstance(found, list) else found
    return manifest


def test_stepaction_params_and_results_reach_later_steps(
    git_server: GitServer, git_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITLOOP_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("GITLOOP_CACHE_DIR", str(tmp_path / "cache"))
    url = git_server.create_repo("step-actions")
    work = tmp_path / "work"
    _git(git_env, "clone", "-q", url, str(work), cwd=tmp_path)
    (work / "actions").mkdir()
    (work / "actions" / "shout.yaml").write_text(REMOTE_ACTION)
    _git(git_env, "add", "actions/shout.yaml", cwd=work)
    _git(git_env, "commit", "-q", "-m", "a StepAction", cwd=work)
    _git(git_env, "push", "-q", "origin", "HEAD:refs/heads/main", cwd=work)
    path = tmp_path / "run.yaml"
    path.write_text(RUN.replace("URL", url))

    result = CliRunner().invoke(cli, ["task", "run", "-f", str(path), "-o", "json"])

    assert result.exit_code == 0, result.output
    assert "[actions/first] greeted world with 2 words" in result.output
    assert "[actions/remote] shouted hello world a b" in result.output
    assert "[actions/last] last saw [HELLO WORLD A B]" in result.output
    manifest = _manifest(result.stdout)
    assert {r["name"]: r["value"] for r in manifest["status"]["results"]} == {
        "greeting": "hello world a b",
        "shouted": "HELLO WORLD A B",
    }
    steps = manifest["status"]["steps"]
    assert [(s["name"], s["terminated"]["reason"]) for s in steps] == [
        ("first", "Completed"),
        ("remote", "Completed"),
        ("last", "Completed"),
    ]


def test_stepaction_missing_param_exits_2_naming_the_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITLOOP_STATE_DIR", str(tmp_path / "state"))
    path = tmp_path / "run.yaml"
    path.write_text(
        RUN.split("---\n")[0]
        + "---\n"
        + RUN.split("---\n")[1]
        .split("      - name: remote")[0]
        .replace("{name: who, value: $(params.name)}, ", "")
    )
    result = CliRunner().invoke(cli, ["task", "run", "-f", str(path)])
    assert result.exit_code == 2, result.output
    assert "spec.taskSpec.steps[0].params" in result.output
    assert "missing parameter 'who'" in result.output
