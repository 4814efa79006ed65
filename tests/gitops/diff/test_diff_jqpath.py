"""jq path expressions of ``ignoreDifferences.jqPathExpressions``: what they delete, and what is refused."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gitloop.errors import SpecError
from gitloop.gitops.diff.jqpath import compile_deletion

DEPLOYMENT: dict[str, Any] = {
    "metadata": {"annotations": {"a/b": "1", "c": "2"}},
    "spec": {
        "replicas": 3,
        "template": {
            "spec": {
                "initContainers": [{"name": "injected-init", "image": "i"}, {"name": "setup", "image": "s"}],
                "containers": [{"name": "x", "image": "x:1"}, {"name": "y", "image": "y:1"}],
            }
        },
    },
    "webhooks": [{"name": "w", "clientConfig": {"caBundle": "Zm9v", "url": "https://hook"}}],
}


def after(*deletions: tuple[tuple[str, ...], Any]) -> dict[str, Any]:
    doc = copy.deepcopy(DEPLOYMENT)
    for path, value in deletions:
        target: Any = doc
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (".spec.replicas", after((("spec",), {"template": DEPLOYMENT["spec"]["template"]}))),
        (
            '.spec.template.spec.containers[] | select(.name == "x") | .image',
            after(
                (("spec", "template", "spec", "containers"), [{"name": "x"}, {"name": "y", "image": "y:1"}])
            ),
        ),
        (
            '.spec.template.spec.initContainers[] | select(.name == "injected-init")',
            after((("spec", "template", "spec", "initContainers"), [{"name": "setup", "image": "s"}])),
        ),
        ('.metadata.annotations["a/b"]', after((("metadata", "annotations"), {"c": "2"}))),
        (
            ".webhooks[]?.clientConfig.caBundle",
            after((("webhooks",), [{"name": "w", "clientConfig": {"url": "https://hook"}}])),
        ),
        (".spec.missing", DEPLOYMENT),
        (".spec.missing[]?", DEPLOYMENT),
        # fails on this object (cannot iterate over null): the object is left as it was
        (".spec.template.spec.volumes[] | .name", DEPLOYMENT),
        ('.metadata.annotations | select("env" == "env")', after((("metadata",), {}))),
    ],
)
def test_deletion(expression: str, expected: dict[str, Any]) -> None:
    doc = copy.deepcopy(DEPLOYMENT)
    assert compile_deletion(expression).apply(doc) == expected
    assert doc == DEPLOYMENT  # the input is not changed


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ('.spec.containers[] | select(.name == "missing-quote)', "unclosed"),
        (".spec.containers[", "unclosed"),
        (".spec | ", "syntax error"),
        (".x) | env | (.", "unbalanced"),
        ("$ENV", "'$ENV' is not allowed"),
        (".x | env", "'env' is not allowed"),
        ('.metadata.annotations["\\(env.HOME)"]', "'env' is not allowed"),
        (".a | debug", "'debug' is not allowed"),
        ('import "x" as x; .a', "'import' is not allowed"),
        (".a # )", "comments"),
        (".a | until(false; .)", "'until' is not allowed"),
        (".a | now", "'now' is not allowed"),
        ("$__loc__", "is not allowed"),
    ],
)
def test_refused(expression: str, reason: str) -> None:
    with pytest.raises(SpecError, match="invalid jq path expression") as raised:
        compile_deletion(expression)
    assert reason in str(raised.value)


@pytest.mark.parametrize(
    "expression", ['.spec.env[] | select(.name == "env")', ".environment", ".spec.input_mode"]
)
def test_names_inside_strings_and_fields_are_fine(expression: str) -> None:
    compile_deletion(expression)
