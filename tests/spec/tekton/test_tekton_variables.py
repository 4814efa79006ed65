"""The reference grammar (``$(...)``) and Go durations, as tables."""

from __future__ import annotations

import pytest

from gitloop.spec.duration import format_duration, parse_duration
from gitloop.spec.tekton import exact_reference, find_references
from gitloop.spec.tekton.variables import tekton_expressions

# text -> (namespace, name, key, index, star) of its only reference
REFERENCES: list[tuple[str, tuple[str, str, str | None, int | None, bool]]] = [
    ("$(params.url)", ("params", "params.url", None, None, False)),
    ('$(params["url"])', ("params", "params.url", None, None, False)),
    ("$(params['a.b'])", ("params", "params.a.b", None, None, False)),
    ("$(params.flags[*])", ("params", "params.flags", None, None, True)),
    ("$(params['flags'][*])", ("params", "params.flags", None, None, True)),
    ("$(params.flags[2])", ("params", "params.flags", None, 2, False)),
    ("$(params.repo.url)", ("params", "params.repo", "url", None, False)),
    ("$(tasks.build.results.digest)", ("tasks", "tasks.build.results.digest", None, None, False)),
    ("$(tasks.build.results.tags[*])", ("tasks", "tasks.build.results.tags", None, None, True)),
    ("$(tasks.build.results.tags[0])", ("tasks", "tasks.build.results.tags", None, 0, False)),
    ("$(tasks.build.results.image.url)", ("tasks", "tasks.build.results.image", "url", None, False)),
    ("$(finally.report.results.url)", ("finally", "finally.report.results.url", None, None, False)),
    ("$(tasks.status)", ("tasks", "tasks.status", None, None, False)),
    ("$(tasks.build.status)", ("tasks", "tasks.build.status", None, None, False)),
    ("$(context.pipelineRun.name)", ("context", "context.pipelineRun.name", None, None, False)),
    ("$(context.task.retry-count)", ("context", "context.task.retry-count", None, None, False)),
    ("$(workspaces.src.path)", ("workspaces", "workspaces.src.path", None, None, False)),
    ("$(results.digest.path)", ("results", "results.digest.path", None, None, False)),
    ("$(results['a.b'].path)", ("results", "results.a.b.path", None, None, False)),
    ("$(steps.step-build.exitCode.path)", ("steps", "steps.step-build.exitCode.path", None, None, False)),
    ("$(step.results.summary.path)", ("step", "step.results.summary.path", None, None, False)),
    ("$(credentials.path)", ("credentials", "credentials.path", None, None, False)),
]


@pytest.mark.parametrize(("text", "expected"), REFERENCES)
def test_reference_grammar(text: str, expected: tuple[str, str, str | None, int | None, bool]) -> None:
    [ref] = find_references(f"x {text} y")
    assert (ref.namespace, ref.name, ref.key, ref.index, ref.star) == expected
    assert ref.expression == text
    assert exact_reference(text) == find_references(text)[0]


@pytest.mark.parametrize(
    "text",
    [
        "$(date)",
        "$(date +%s)",
        "$(git rev-parse HEAD)",
        "$((1 + 2))",
        "${HOME}",
        "$params.x",
        "$(params.x[1][2])",
    ],
)
def test_not_references(text: str) -> None:
    assert find_references(text) == []


def test_reference_helpers() -> None:
    refs = find_references("$(tasks.a.results.r) $(tasks.b.status) $(tasks.status) $(params.p)")
    assert [r.result_ref for r in refs] == [("a", "r"), None, None, None]
    assert [r.status_ref for r in refs] == [None, "b", "", None]
    assert [r.param for r in refs] == [None, None, None, "p"]
    assert exact_reference(" $(params.p)") is None
    assert tekton_expressions("a $(date) $(params.x[*]) $(date +%s)") == ["date", "params.x[*]"]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0.0),
        ("30s", 30.0),
        ("1h0m0s", 3600.0),
        ("1h30m", 5400.0),
        ("0h1m30s", 90.0),
        ("1.5h", 5400.0),
        ("300ms", 0.3),
        ("2us", 2e-6),
        ("-1m", -60.0),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "1", "1d", "h", "1h 30m", "five minutes", "1.2.3s"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


@pytest.mark.parametrize(("seconds", "text"), [(0, "0s"), (45, "45s"), (90, "1m30s"), (3600, "1h0m0s")])
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
