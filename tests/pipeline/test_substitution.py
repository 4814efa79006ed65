"""Variable substitution as tables: strings, list expansion, param values, nested values, errors."""

from __future__ import annotations

from typing import Any

import pytest

from gitloop.pipeline.substitution import (
    PIPELINE_STRICT,
    TASK_STRICT,
    Context,
    SubstitutionError,
    params_context,
    references,
    results_context,
    substitute,
    substitute_list,
    substitute_param_value,
    substitute_value,
)
from gitloop.spec.tekton import Step

CONTEXT: Context = {
    "params.url": "https://git.example.com/app",
    "params.flags": ["-v", "--fast"],
    "params.empty": [],
    "params.repo": {"url": "https://git.example.com/lib", "branch": "main"},
    "params.a.b": "dotted",
    "params.raw": "$(params.url)",
    "tasks.build.results.digest": "sha256:abc",
    "tasks.build.results.tags": ["v1", "latest"],
    "tasks.build.results.image": {"url": "registry.example.com/app"},
    "tasks.status": "Succeeded",
    "tasks.build.status": "Failed",
    "context.pipelineRun.name": "run-1",
    "context.pipelineRun.namespace": "ci",
    "context.pipelineRun.uid": "uid-1",
    "context.pipeline.name": "gitops-ci",
    "context.taskRun.name": "run-1-build",
    "context.taskRun.namespace": "ci",
    "context.taskRun.uid": "uid-2",
    "context.task.name": "kaniko",
    "context.task.retry-count": "1",
    "workspaces.src.path": "/workspace/src",
    "workspaces.src.bound": "true",
    "workspaces.src.claim": "cache",
    "workspaces.src.volume": "ws-1",
    "results.digest.path": "/tekton/results/digest",
    "steps.step-build.exitCode.path": "/tekton/steps/step-build/exitCode",
    "step.results.out.path": "/tekton/steps/step-report/results/out",
}

STRINGS: list[tuple[str, str]] = [
    ("$(params.url)", "https://git.example.com/app"),
    ('$(params["url"])', "https://git.example.com/app"),
    ("$(params['url'])", "https://git.example.com/app"),
    ("$(params['a.b'])", "dotted"),
    ("$(params.a.b)", "dotted"),
    ("$(params.flags[1])", "--fast"),
    ("$(params.repo.branch)", "main"),
    ("clone $(params.url)@$(params.repo.branch)", "clone https://git.example.com/app@main"),
    ("$(params.url)$(params.url)", "https://git.example.com/apphttps://git.example.com/app"),
    ("$(params.raw)", "$(params.url)"),
    ("$(tasks.build.results.digest)", "sha256:abc"),
    ("$(tasks.build.results.tags[0])", "v1"),
    ("$(tasks.build.results.image.url)", "registry.example.com/app"),
    ("$(tasks.status)/$(tasks.build.status)", "Succeeded/Failed"),
    (
        "$(context.pipelineRun.name) $(context.pipelineRun.namespace) $(context.pipelineRun.uid)",
        "run-1 ci uid-1",
    ),
    ("$(context.pipeline.name)", "gitops-ci"),
    ("$(context.taskRun.name) $(context.taskRun.namespace) $(context.taskRun.uid)", "run-1-build ci uid-2"),
    ("$(context.task.name) try $(context.task.retry-count)", "kaniko try 1"),
    (
        "$(workspaces.src.path)|$(workspaces.src.bound)|$(workspaces.src.claim)|$(workspaces.src.volume)",
        "/workspace/src|true|cache|ws-1",
    ),
    ("cat $(results.digest.path)", "cat /tekton/results/digest"),
    ("cat $(steps.step-build.exitCode.path)", "cat /tekton/steps/step-build/exitCode"),
    ("echo x > $(step.results.out.path)", "echo x > /tekton/steps/step-report/results/out"),
    (
        "echo $(date) $(git rev-parse HEAD) ${HOME} $((1+2))",
        "echo $(date) $(git rev-parse HEAD) ${HOME} $((1+2))",
    ),
    (
        "#!/bin/sh\nTAG=$(git describe)\necho $(params.url) $TAG\n",
        "#!/bin/sh\nTAG=$(git describe)\necho https://git.example.com/app $TAG\n",
    ),
    ("no references", "no references"),
]


@pytest.mark.parametrize(("text", "expected"), STRINGS)
def test_substitute(text: str, expected: str) -> None:
    assert substitute(text, CONTEXT) == expected


ERRORS: list[tuple[str, str]] = [
    ("$(params.nope)", "unknown variable $(params.nope)"),
    ("$(tasks.build.results.missing)", "unknown variable $(tasks.build.results.missing)"),
    ("$(tasks.lint.status)", "unknown variable $(tasks.lint.status)"),
    ("$(context.pipelineRun.labels)", "unknown variable $(context.pipelineRun.labels)"),
    ("$(workspaces.cache.path)", "unknown variable $(workspaces.cache.path)"),
    ("make $(params.flags[*])", "$(params.flags[*]) is an array and cannot be used inside a string"),
    ("$(params.flags)", "$(params.flags) is an array and cannot be used inside a string"),
    ("$(params.repo[*])", "$(params.repo[*]) is an object and cannot be used inside a string"),
    ("$(tasks.build.results.tags[*])", "is an array and cannot be used inside a string"),
    ("$(params.flags[5])", "index 5 out of range for params.flags of length 2"),
    ("$(params.url[0])", "params.url is string, not an array"),
    ("$(params.url.host)", "params.url is string, not an object"),
    ("$(params.repo.commit)", "object params.repo has no key 'commit'"),
    ("$(params.url[*])", "params.url is a string; [*] needs an array or object"),
]


@pytest.mark.parametrize(("text", "words"), ERRORS)
def test_substitute_rejects(text: str, words: str) -> None:
    with pytest.raises(SubstitutionError) as caught:
        substitute(text, CONTEXT, field="spec.steps[0].script")
    assert words in str(caught.value)
    assert caught.value.field == "spec.steps[0].script"


# text, strict prefixes -> result when the context lacks the variable
LENIENT: list[tuple[str, frozenset[str], str]] = [
    ("$(context.task.retry-count)", PIPELINE_STRICT, "$(context.task.retry-count)"),
    ("$(params.own) $(params.url)", frozenset(), "$(params.own) https://git.example.com/app"),
    ("$(tasks.other.results.r)", TASK_STRICT, "$(tasks.other.results.r)"),
    ("$(credentials.path)", PIPELINE_STRICT, "$(credentials.path)"),
]


@pytest.mark.parametrize(("text", "strict", "expected"), LENIENT)
def test_unknown_outside_strict_namespaces_is_left(text: str, strict: frozenset[str], expected: str) -> None:
    context = {"params.url": CONTEXT["params.url"]}
    assert substitute(text, context, strict=strict) == expected


LISTS: list[tuple[list[str], list[str]]] = [
    (
        ["build", "$(params.flags[*])", "--url=$(params.url)"],
        ["build", "-v", "--fast", "--url=https://git.example.com/app"],
    ),
    (["$(params.flags)"], ["-v", "--fast"]),
    (['$(params["flags"][*])', "end"], ["-v", "--fast", "end"]),
    (["$(tasks.build.results.tags[*])"], ["v1", "latest"]),
    (["a", "$(params.empty[*])", "b"], ["a", "b"]),
    (["$(params.flags[0])", "$(date)"], ["-v", "$(date)"]),
    ([], []),
]


@pytest.mark.parametrize(("items", "expected"), LISTS)
def test_substitute_list_expands_whole_arrays(items: list[str], expected: list[str]) -> None:
    assert substitute_list(items, CONTEXT) == expected


@pytest.mark.parametrize(
    ("items", "field", "words"),
    [
        (["ok", "x $(params.flags[*])"], "args[1]", "cannot be used inside a string"),
        (["$(params.repo[*])"], "args[0]", "is an object and cannot be a list item"),
        (["$(params.missing[*])"], "args[0]", "unknown variable $(params.missing[*])"),
    ],
)
def test_substitute_list_rejects(items: list[str], field: str, words: str) -> None:
    with pytest.raises(SubstitutionError) as caught:
        substitute_list(items, CONTEXT, field="args")
    assert caught.value.field == field
    assert words in str(caught.value)


PARAM_VALUES: list[tuple[Any, Any]] = [
    ("$(params.flags[*])", ("-v", "--fast")),
    ("$(params.flags)", ("-v", "--fast")),
    ("$(params.repo[*])", {"url": "https://git.example.com/lib", "branch": "main"}),
    ("$(tasks.build.results.image[*])", {"url": "registry.example.com/app"}),
    ("$(tasks.build.results.tags[*])", ("v1", "latest")),
    ("v-$(tasks.build.results.digest)", "v-sha256:abc"),
    (("a", "$(params.flags[*])"), ("a", "-v", "--fast")),
    (
        {"repo": "$(params.url)", "rev": "$(params.repo.branch)"},
        {"repo": "https://git.example.com/app", "rev": "main"},
    ),
]


@pytest.mark.parametrize(("value", "expected"), PARAM_VALUES)
def test_substitute_param_value_takes_the_referenced_type(value: Any, expected: Any) -> None:
    assert substitute_param_value(value, CONTEXT) == expected


def test_substitute_nested_value() -> None:
    value = {
        "image": "registry/$(context.task.name)",
        "args": ["--digest", "$(tasks.build.results.digest)", "$(params.flags[*])"],
        "env": [{"name": "URL", "value": "$(params.url)"}],
        "count": 3,
        "$(params.url)": "keys are kept",
    }
    assert substitute_value(value, CONTEXT) == {
        "image": "registry/kaniko",
        "args": ["--digest", "sha256:abc", "-v", "--fast"],
        "env": [{"name": "URL", "value": "https://git.example.com/app"}],
        "count": 3,
        "$(params.url)": "keys are kept",
    }
    assert substitute_value(("$(params.flags[*])",), CONTEXT) == ("-v", "--fast")


def test_nested_error_names_the_field() -> None:
    with pytest.raises(SubstitutionError) as caught:
        substitute_value({"steps": [{"args": ["ok", "$(params.nope)"]}]}, CONTEXT, field="spec")
    assert caught.value.field == "spec.steps[0].args[1]"
    assert caught.value.reference == "$(params.nope)"
    assert str(caught.value) == "spec.steps[0].args[1]: unknown variable $(params.nope)"


def test_references_lists_every_reference() -> None:
    step = Step(
        image="$(params.image)",
        args=("$(params.flags[*])", "$(date)"),
        script="echo $(tasks.a.results.r) > $(results.out.path)",
    )
    assert [r.expression for r in references(step)] == [
        "$(params.image)",
        "$(params.flags[*])",
        "$(tasks.a.results.r)",
        "$(results.out.path)",
    ]
    assert [
        r.name for r in references({"a": ["$(params.x)", {"b": "$(context.pipeline.name)"}], "n": 1})
    ] == [
        "params.x",
        "context.pipeline.name",
    ]


def test_context_helpers() -> None:
    context = {**params_context({"url": "u", "flags": ("a",)}), **results_context("build", {"digest": "d"})}
    assert context == {"params.url": "u", "params.flags": ("a",), "tasks.build.results.digest": "d"}
    assert substitute_list(["$(params.flags[*])", "$(tasks.build.results.digest)"], context) == ["a", "d"]
