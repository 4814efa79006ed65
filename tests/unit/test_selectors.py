"""Label selectors as the PipelineRun list uses them: what goes to the store, what is matched after."""

from __future__ import annotations

import pytest

from gitloop.model.selectors import equalities, matches, parse_selector

LABELS = {"app": "web", "tier": "front", "gitloop.dev/rerun-of": "build-1"}

CASES = {
    "empty-selects-all": ("", {}, True),
    "equality": ("app=web", {"app": "web"}, True),
    "double-equals": ("app==web", {"app": "web"}, True),
    "two-values-for-one-key-select-nothing": ("app=web,app=api", {"app": "api"}, False),
    "not-equals": ("app!=web", {}, False),
    "set-in": ("tier in (front,back)", {}, True),
    "set-notin": ("tier notin (front)", {}, False),
    "exists-and-equality": ("gitloop.dev/rerun-of,app=web", {"app": "web"}, True),
    "does-not-exist": ("!team", {}, True),
}


@pytest.mark.parametrize(("text", "store_labels", "selected"), list(CASES.values()), ids=list(CASES))
def test_selector(text: str, store_labels: dict[str, str], selected: bool) -> None:
    selector = parse_selector(text)
    assert equalities(selector) == store_labels
    assert matches(selector, LABELS) is selected
