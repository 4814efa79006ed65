"""Run names as the Kubernetes API server gives them: ``name`` as written, else ``generateName`` (or the
fallback) cut to 58 characters plus five characters of the API server's suffix alphabet."""

from __future__ import annotations

import re

import pytest

from gitloop.pipeline.inputs import GENERATED_SUFFIX_ALPHABET, run_name
from gitloop.spec.tekton import ObjectMeta

SUFFIX = f"[{GENERATED_SUFFIX_ALPHABET}]{{5}}"

# metadata, fallback -> pattern of the name
CASES: list[tuple[ObjectMeta, str, str]] = [
    (ObjectMeta(name="build-1"), "p-run-", "build-1"),
    (ObjectMeta(name="build-1", generate_name="ignored-"), "p-run-", "build-1"),
    (ObjectMeta(generate_name="gitops-ci-run-"), "p-run-", f"gitops-ci-run-{SUFFIX}"),
    (ObjectMeta(), "p-run-", f"p-run-{SUFFIX}"),
    (ObjectMeta(generate_name="x" * 70), "p-run-", f"x{{58}}{SUFFIX}"),
]


@pytest.mark.parametrize(("meta", "fallback", "pattern"), CASES)
def test_run_name(meta: ObjectMeta, fallback: str, pattern: str) -> None:
    name = run_name(meta, fallback)
    assert re.fullmatch(pattern, name), name
    assert len(name) <= 63


def test_the_suffix_alphabet_has_no_vowels_and_no_look_alikes() -> None:
    assert not set(GENERATED_SUFFIX_ALPHABET) & set("aeiou013")
    names = {run_name(ObjectMeta(generate_name="r-"), "") for _ in range(50)}
    assert len(names) > 45
