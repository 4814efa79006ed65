"""Command-line params and workspaces for ``gitloop pipeline run``: ``-p`` by declared type, ``-w`` kinds."""

from __future__ import annotations

from typing import Any

import pytest

from gitloop.errors import UsageError
from gitloop.pipeline.inputs import parse_params, parse_workspaces, run_name
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
