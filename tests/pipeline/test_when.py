"""``when`` expressions as tables: in/notin after substitution, CEL, and the failures."""

from __future__ import annotations

import pytest

from gitloop.errors import PipelineError, SpecError
from gitloop.pipeline.substitution import Context, SubstitutionError
from gitloop.pipeline.when import check_cel, evaluate, evaluate_cel, resolve
from gitloop.spec.tekton import WhenExpression

CONTEXT: Context = {
    "params.branch": "main",
    "params.deploy-to-prod": "true",
    "params.branches": ["main", "release"],
    "params.coverage": "0.93",
    "params.repo": {"url": "github.com/tektoncd/pipeline"},
    "tasks.check.results.exists": "yes",
    "tasks.check.results.list": ["a", "b"],
    "tasks.build.status": "Failed",
    "tasks.status": "Failed",
    "workspaces.lint-config.bound": "false",
}


def _in(input_: str, *values: str) -> WhenExpression:
    return WhenExpression(input_, "in", values)


def _notin(input_: str, *values: str) -> WhenExpression:
    return WhenExpression(input_, "notin", values)


def _cel(expression: str) -> WhenExpression:
    return WhenExpression(cel=expression)


WHEN: list[tuple[list[WhenExpression], bool]] = [
    ([], True),
    ([_in("$(params.branch)", "main", "develop")], True),
    ([_in("$(params.branch)", "develop")], False),
    ([_notin("$(params.branch)", "develop")], True),
    ([_notin("$(params.branch)", "main")], False),
    ([_in("$(params.deploy-to-prod)", "true")], True),
    ([_in("release", "$(params.branches[*])")], True),
    ([_in("hotfix", "$(params.branches[*])", "$(params.branches[0])")], False),
    ([_in("$(tasks.check.results.exists)", "yes")], True),
    ([_in("b", "$(tasks.check.results.list[*])")], True),
    ([_in("$(tasks.build.status)", "Failed")], True),
    ([_in("$(tasks.status)", "Succeeded", "Completed")], False),
    ([_in("$(workspaces.lint-config.bound)", "true")], False),
    ([_in("$(params.branch)", "main"), _notin("$(params.deploy-to-prod)", "true")], False),
    ([_in("", "")], True),
    ([_in("Main", "main")], False),
    ([_in('["main","release"]', "$(params.branches)")], False),
    ([_in("$(params.branches[*])", '["main","release"]')], True),
    ([_cel("'$(params.branch)' == 'main'")], True),
    ([_cel("'$(params.branch)' in ['develop', 'main']")], True),
    ([_cel("!('$(params.branch)' in ['develop'])")], True),
    ([_cel("$(params.coverage) > 0.9")], True),
    ([_cel("'$(params.repo.url)'.matches('github.com/tektoncd/.*')")], True),
    ([_cel("'$(params.branches[1])'.startsWith('rel') && size('$(params.branch)') == 4")], True),
    ([_cel("'$(params.branch)' != 'main' || '$(params.deploy-to-prod)' == 'false'")], False),
    ([_in("$(params.branch)", "main"), _cel("'$(tasks.check.results.exists)' == 'no'")], False),
]


@pytest.mark.parametrize(("expressions", "allowed"), WHEN)
def test_evaluate(expressions: list[WhenExpression], allowed: bool) -> None:
    result = evaluate(expressions, CONTEXT)
    assert result.allowed is allowed
    assert (result.failed is None) is allowed
    assert len(result.resolved) == len(expressions)


def test_resolved_expressions_are_kept() -> None:
    result = evaluate(
        [_in("$(params.branch)", "$(params.branches[*])", "x"), _notin("a", "$(tasks.check.results.exists)")],
        CONTEXT,
    )
    assert result.resolved == (
        WhenExpression("main", "in", ("main", "release", "x")),
        WhenExpression("a", "notin", ("yes",)),
    )
    assert result.allowed
    cel = resolve(_cel("'$(params.branch)' == 'main'"), CONTEXT)
    assert cel == WhenExpression(cel="'main' == 'main'")


def test_first_false_expression_is_reported() -> None:
    result = evaluate(
        [_in("$(params.branch)", "main"), _in("$(params.branch)", "develop"), _in("x", "y")], CONTEXT
    )
    assert not result.allowed
    assert result.failed == WhenExpression("main", "in", ("develop",))


@pytest.mark.parametrize(
    ("expressions", "error", "words"),
    [
        ([_in("$(params.nope)", "x")], SubstitutionError, "unknown variable $(params.nope)"),
        ([_in("x $(params.branches[*])", "x")], SubstitutionError, "cannot be used inside a string"),
        ([_cel("'a' in '$(params.branches[*])'")], SubstitutionError, "cannot be used inside a string"),
        ([_cel("'$(params.branch)' ==")], SpecError, "invalid cel expression"),
        ([_cel("'$(params.branch)'")], PipelineError, "not true or false"),
        ([_cel("'$(params.coverage)' > 0.9")], PipelineError, "failed"),
    ],
)
def test_evaluate_rejects(expressions: list[WhenExpression], error: type[Exception], words: str) -> None:
    with pytest.raises(error) as caught:
        evaluate(expressions, CONTEXT, field="spec.tasks[0].when")
    assert words in str(caught.value)


def test_substitution_error_names_the_when_field() -> None:
    with pytest.raises(SubstitutionError) as caught:
        evaluate([_in("ok", "x"), _in("x", "$(params.nope)")], CONTEXT, field="spec.tasks[3].when")
    assert caught.value.field == "spec.tasks[3].when[1].values[0]"


@pytest.mark.parametrize(
    ("expression", "valid"),
    [
        ("'$(params.branch)' == 'main'", True),
        ("$(tasks.unit-test.results.coverage) > 0.9", True),
        ("size('x') == 1 && true", True),
        ("'a' ==", False),
        ("(('a')", False),
    ],
)
def test_check_cel(expression: str, valid: bool) -> None:
    if valid:
        check_cel(expression)
    else:
        with pytest.raises(SpecError, match="invalid cel expression"):
            check_cel(expression)


def test_evaluate_cel_directly() -> None:
    assert evaluate_cel("1 < 2") is True
    assert evaluate_cel("'x'.endsWith('y')") is False
