"""The task DAG: edges from runAfter and result references, cycles named, readiness as tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitloop.errors import PipelineError, SpecError
from gitloop.pipeline.dag import Dag
from gitloop.spec.tekton import Pipeline, load, parse_text

SEED = Path(__file__).parents[1] / "spec" / "tekton" / "testdata" / "pipeline-gitops-ci.yaml"


@pytest.fixture(scope="module")
def seed() -> Dag:
    [pipeline] = load(SEED)
    assert isinstance(pipeline, Pipeline)
    return Dag.build(pipeline.spec)


def test_seed_pipeline_order(seed: Dag) -> None:
    assert seed.levels() == (
        ("clone-source",),
        ("get-version", "test"),
        ("build-push",),
        ("clone-gitops",),
        ("update-manifest",),
        ("commit-push",),
    )
    assert seed.order() == (
        "clone-source",
        "get-version",
        "test",
        "build-push",
        "clone-gitops",
        "update-manifest",
        "commit-push",
    )
    assert seed.roots() == ("clone-source",)
    assert seed.uses_results_of["update-manifest"] == {"get-version"}
    assert seed.run_after["update-manifest"] == {"clone-gitops"}
    assert seed.children("get-version") == {"build-push", "update-manifest", "commit-push"}
    assert seed.descendants("clone-gitops") == {"update-manifest", "commit-push"}


# (succeeded, skipped, failed, running) -> ready
READY: list[tuple[set[str], set[str], set[str], set[str], tuple[str, ...]]] = [
    (set(), set(), set(), set(), ("clone-source",)),
    (set(), set(), set(), {"clone-source"}, ()),
    ({"clone-source"}, set(), set(), set(), ("get-version", "test")),
    ({"clone-source"}, set(), set(), {"test"}, ("get-version",)),
    ({"clone-source", "get-version"}, set(), set(), {"test"}, ()),
    ({"clone-source", "get-version"}, {"test"}, set(), set(), ("build-push",)),
    ({"clone-source", "test"}, set(), {"get-version"}, set(), ("build-push",)),
    (
        {"clone-source", "get-version", "test", "build-push", "clone-gitops"},
        set(),
        set(),
        set(),
        ("update-manifest",),
    ),
    (
        {
            "clone-source",
            "get-version",
            "test",
            "build-push",
            "clone-gitops",
            "update-manifest",
            "commit-push",
        },
        set(),
        set(),
        set(),
        (),
    ),
]


@pytest.mark.parametrize(("succeeded", "skipped", "failed", "running", "ready"), READY)
def test_ready(
    seed: Dag,
    succeeded: set[str],
    skipped: set[str],
    failed: set[str],
    running: set[str],
    ready: tuple[str, ...],
) -> None:
    assert seed.ready(succeeded, skipped, failed, running) == ready


def test_done(seed: Dag) -> None:
    assert not seed.done({"clone-source"})
    assert seed.done(set(seed.tasks) - {"test"}, skipped={"test"})


@pytest.mark.parametrize(
    ("succeeded", "running", "words"),
    [
        ({"test"}, set(), "task test has started but clone-source it waits for have not settled"),
        (set(), {"build-push"}, "task build-push has started"),
        ({"deploy"}, set(), "tasks not in the pipeline: deploy"),
    ],
)
def test_ready_rejects_impossible_states(
    seed: Dag, succeeded: set[str], running: set[str], words: str
) -> None:
    with pytest.raises(PipelineError, match=words):
        seed.ready(succeeded, running=running)


# tasks in order, runAfter edges, result edges -> the cycle named
CYCLES: list[tuple[list[str], dict[str, list[str]], dict[str, list[str]], str]] = [
    (["a"], {"a": ["a"]}, {}, "a -> a"),
    (["a", "b"], {"a": ["b"], "b": ["a"]}, {}, "a -> b -> a"),
    (["a", "b", "c"], {"b": ["a"], "c": ["b"]}, {"a": ["c"]}, "a -> b -> c -> a"),
    (["x", "c", "b", "a"], {"a": ["b"], "b": ["c"], "c": ["a"], "x": []}, {}, "c -> b -> a -> c"),
]


@pytest.mark.parametrize(("tasks", "run_after", "results", "cycle"), CYCLES)
def test_cycle_is_named(
    tasks: list[str], run_after: dict[str, list[str]], results: dict[str, list[str]], cycle: str
) -> None:
    with pytest.raises(SpecError) as caught:
        Dag.of(tasks, run_after, results)
    assert str(caught.value) == f"spec.tasks: cycle detected in task order: {cycle}"


def test_unknown_parent() -> None:
    with pytest.raises(SpecError, match="task b depends on z but z wasn't present in Pipeline"):
        Dag.of(["a", "b"], {"b": ["z"]})


def test_result_reference_in_when_matrix_and_embedded_steps_makes_edges() -> None:
    [pipeline] = parse_text(
        """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: edges}
spec:
  tasks:
    - name: a
      taskSpec:
        results: [{name: r}, {name: list, type: array}]
        steps: [{image: alpine}]
    - name: b
      taskRef: {name: t}
      when: [{input: "$(tasks.a.results.r)", operator: in, values: ["x"]}]
    - name: c
      taskRef: {name: t}
      matrix:
        params: [{name: p, value: "$(tasks.a.results.list[*])"}]
    - name: d
      taskSpec:
        steps: [{image: alpine, script: "echo $(tasks.b.results.out)"}]
    - name: e
      displayName: "after $(tasks.d.results.out)"
      taskRef: {name: t}
"""
    )
    assert isinstance(pipeline, Pipeline)
    dag = Dag.build(pipeline.spec)
    assert {t: dag.parents(t) for t in dag.tasks} == {
        "a": set(),
        "b": {"a"},
        "c": {"a"},
        "d": {"b"},
        "e": set(),
    }
    assert dag.levels() == (("a", "e"), ("b", "c"), ("d",))
