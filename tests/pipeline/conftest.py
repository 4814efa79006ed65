"""Fixtures for the engine's tests: ``make_plan`` / ``make_task_plan`` build checked plans from YAML text
(see ``engine_helpers``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from engine_helpers import build_pipeline_plan, build_task_plan

from gitloop.pipeline.plan import PipelineRunPlan
from gitloop.pipeline.taskrun import TaskRunPlan


@pytest.fixture
def make_plan() -> Callable[..., PipelineRunPlan]:
    return build_pipeline_plan


@pytest.fixture
def make_task_plan() -> Callable[..., TaskRunPlan]:
    return build_task_plan
