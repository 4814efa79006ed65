"""The inputs of a run: command-line params and workspaces (``-p`` by declared type, ``-w`` kinds), and
resources in memory read with the files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gitloop.errors import UsageError
from gitloop.pipeline.inputs import load_inputs, parse_params, parse_workspaces, run_name
from gitloop.spec.tekton import ObjectMeta, ParamSpec, WorkspaceBinding

SPECS = [
    ParamSpec("name"),
    ParamSpec("flags", "array"),
    ParamSpec("repo", "object", properties={"url": "string", "branch": "string"}),
]

# flag -> value
PARAMS: list[tuple[str, Any]] = [
    ("name=hello=world", "hello=world"),
    ("name=", ""),
    ("flags=-v,--fast", ("-v", "--fast")),
    ('flags=["a,b", "c"]', ("a,b", "c")),
    ("flags=", ()),
    ("repo=url:https://x,branch:main", {"url": "https://x", "branch": "main"}),
    ('repo={"url": "u", "branch": "b"}', {"url": "u", "branch": "b"}),
    ("undeclared=[1]", "[1]"),
]


@pytest.mark.parametrize(("flag", "value"), PARAMS)
def test_params_follow_the_declared_type(flag: str, value: Any) -> None:
    (param,) = parse_params([flag], SPECS)
    assert param.value == value


@pytest.mark.parametrize("flag", ["nothing", "=x", "flags=[broken", "repo=just-text", 'flags={"a": "b"}'])
def test_bad_params(flag: str) -> None:
    with pytest.raises(UsageError):
        parse_params([flag], SPECS)


WORKSPACES: list[tuple[str, WorkspaceBinding]] = [
    ("src=emptyDir", WorkspaceBinding("src", "emptyDir")),
    ("creds=secret:git-ssh", WorkspaceBinding("creds", "secret", {"secretName": "git-ssh"})),
    ("conf=configMap:settings", WorkspaceBinding("conf", "configMap", {"name": "settings"})),
    (
        "cache=pvc:build-cache",
        WorkspaceBinding("cache", "persistentVolumeClaim", {"claimName": "build-cache"}),
    ),
    ("out=/srv/out", WorkspaceBinding("out", "hostPath", {"path": "/srv/out"})),
]


@pytest.mark.parametrize(("flag", "binding"), WORKSPACES)
def test_workspaces(flag: str, binding: WorkspaceBinding) -> None:
    assert parse_workspaces([flag]) == [binding]


# -w flag -> words of the error: a claim name becomes <state dir>/volumes/<claim>
BAD_WORKSPACES = [
    ("cache=pvc:../../../../tmp/x", "invalid claim name: '../../../../tmp/x' is not a valid DNS subdomain"),
    ("cache=pvc:/etc", "invalid claim name: '/etc' is not a valid DNS subdomain"),
    ("cache=pvc:..", "invalid claim name: '..' is not a valid DNS subdomain"),
    ("cache=pvc:Build_Cache", "'Build_Cache' is not a valid DNS subdomain"),
    ("nothing", "expected name=DIR"),
]


@pytest.mark.parametrize(("flag", "words"), BAD_WORKSPACES)
def test_bad_workspaces(flag: str, words: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_workspaces([flag])
    assert str(caught.value).startswith(f"-w {flag!r}: ") and words in str(caught.value)


def test_run_names() -> None:
    assert run_name(ObjectMeta(name="fixed"), "x-") == "fixed"
    generated = run_name(ObjectMeta(generate_name="ci-"), "x-")
    assert generated.startswith("ci-") and len(generated) == 8


def test_a_resource_in_memory_is_read_before_the_files(tmp_path: Path) -> None:
    (tmp_path / "pipeline.yaml").write_text(
        "apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata: {name: build}\n"
        "spec:\n  tasks:\n    - name: t\n      taskSpec:\n        steps: [{name: s, image: alpine, script: 'true'}]\n"
    )
    run = {
        "apiVersion": "tekton.dev/v1",
        "kind": "PipelineRun",
        "metadata": {"name": "build-1"},
        "spec": {"pipelineRef": {"name": "build"}},
    }
    inputs = load_inputs([tmp_path / "pipeline.yaml"], resources=[run])
    assert [r.name for r in inputs.pipeline_runs] == ["build-1"] and list(inputs.pipelines) == ["build"]
    assert [s.path for s in inputs.sources] == ["PipelineRun/build-1", str(tmp_path / "pipeline.yaml")]
