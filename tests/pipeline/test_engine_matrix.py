"""Matrix fan-out: combinations (params and include), TaskRun names, aggregated results."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from engine_helpers import pipeline_yaml

from gitloop.pipeline import reasons as R
from gitloop.pipeline.matrix import combinations
from gitloop.pipeline.plan import PipelineRunPlan
from gitloop.pipeline.simulation import Simulation, StepCall, StepScript

Params = list[tuple[str, list[str]]]
Include = list[tuple[str, list[tuple[str, str]]]]

# matrix params, include -> combinations as dicts (and include names)
COMBINATIONS: list[tuple[str, Params, Include, list[dict[str, str]]]] = [
    (
        "product-first-param-slowest",
        [("platform", ["linux", "mac"]), ("browser", ["safari", "chrome"])],
        [],
        [
            {"platform": "linux", "browser": "safari"},
            {"platform": "linux", "browser": "chrome"},
            {"platform": "mac", "browser": "safari"},
            {"platform": "mac", "browser": "chrome"},
        ],
    ),
    (
        "include-adds-to-matching-and-appends-the-rest",
        [("platform", ["linux", "mac"]), ("browser", ["safari", "chrome"])],
        [
            ("linux-url", [("platform", "linux"), ("url", "some-url")]),
            ("odd", [("browser", "i-do-not-exist")]),
        ],
        [
            {"platform": "linux", "browser": "safari", "url": "some-url"},
            {"platform": "linux", "browser": "chrome", "url": "some-url"},
            {"platform": "mac", "browser": "safari"},
            {"platform": "mac", "browser": "chrome"},
            {"browser": "i-do-not-exist"},
        ],
    ),
    (
        "include-without-overlap-goes-to-every-combination",
        [("arch", ["amd64", "arm64"])],
        [("common", [("package", "pkg")])],
        [{"arch": "amd64", "package": "pkg"}, {"arch": "arm64", "package": "pkg"}],
    ),
    (
        "include-only",
        [],
        [("build-1", [("IMAGE", "image-1")]), ("build-2", [("IMAGE", "image-2")])],
        [{"IMAGE": "image-1"}, {"IMAGE": "image-2"}],
    ),
]


@pytest.mark.parametrize(
    ("params", "include", "expected"), [c[1:] for c in COMBINATIONS], ids=[c[0] for c in COMBINATIONS]
)
def test_combinations(params: Params, include: Include, expected: list[dict[str, str]]) -> None:
    found = combinations(params, include)
    assert [{p.name: p.value for p in c.params} for c in found] == expected


MATRIX = """
params: [{name: platforms, type: array, default: [linux, mac, windows]}]
tasks:
  - name: build
    matrix:
      params: [{name: platform, value: "$(params.platforms[*])"}]
    taskSpec:
      params: [{name: platform}]
      results: [{name: artifact}]
      steps:
        - {name: b, image: alpine, script: "echo $(params.platform)"}
  - name: publish
    params:
      - {name: artifacts, value: "$(tasks.build.results.artifact[*])"}
      - {name: count, value: $(tasks.build.matrix.length)}
    taskSpec:
      params: [{name: artifacts, type: array}, {name: count}]
      steps:
        - {name: p, image: alpine, command: [echo], args: ["$(params.count)", "$(params.artifacts[*])"]}
"""


def _build(call: StepCall) -> StepScript:
    if call.pipeline_task == "build":
        return StepScript(
            1 if call.params["platform"] == "fail" else 0, 1, {"artifact": f"{call.params['platform']}.tgz"}
        )
    return StepScript()


def test_matrix_fans_out_and_aggregates_results(make_plan: Callable[..., PipelineRunPlan]) -> None:
    sim = Simulation(_build)
    state = sim.run_pipeline(make_plan(pipeline_yaml(MATRIX)))
    assert state.tasks["build"].children == ["run-build-0", "run-build-1", "run-build-2"]
    builds = [c for c in sim.calls if c.pipeline_task == "build"]
    assert {c.time for c in builds} == {sim.calls[0].time}
    publish = next(c for c in sim.calls if c.pipeline_task == "publish")
    assert publish.request.args == ("3", "linux.tgz", "mac.tgz", "windows.tgz")
    assert state.condition.reason == R.PR_SUCCEEDED


def test_one_failed_combination_fails_the_task(make_plan: Callable[..., PipelineRunPlan]) -> None:
    body = MATRIX.replace("[linux, mac, windows]", "[linux, fail]")
    state = Simulation(_build).run_pipeline(make_plan(pipeline_yaml(body)))
    assert state.tasks["build"].status == "Failed"
    assert state.tasks["publish"].skip_reason == R.SKIP_STOPPING
    assert state.condition.reason == R.PR_FAILED


def test_include_names_become_display_names(make_plan: Callable[..., PipelineRunPlan]) -> None:
    body = """
tasks:
  - name: build
    displayName: "Build $(params.IMAGE)"
    matrix:
      include:
        - {name: "first $(params.IMAGE)", params: [{name: IMAGE, value: one}]}
        - {name: "", params: [{name: IMAGE, value: two}]}
    taskSpec:
      params: [{name: IMAGE}]
      steps: [{image: alpine, script: "echo $(params.IMAGE)"}]
"""
    state = Simulation(lambda _: StepScript()).run_pipeline(make_plan(pipeline_yaml(body)))
    assert state.tasks["build"].display_names == ["first one", "Build two"]
