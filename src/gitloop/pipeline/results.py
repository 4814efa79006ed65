"""Task results: from the files a TaskRun wrote to typed values, with Tekton's size limit. Pure.

A ``string`` result is the file's content verbatim (whitespace and newlines kept); ``array`` and
``object`` results are JSON (an array of strings; an object whose declared ``properties`` must all be
present). Each result may hold at most ``max-result-size`` bytes (4096, Tekton's default); a larger one
fails the TaskRun with ``TaskRunResultLargerThanAllowedLimit``. A result declared with
``value: $(steps.<step>.results.<name>)`` is taken from that step's result.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from gitloop.errors import InputLimitError
from gitloop.spec.tekton import ResultSpec, exact_reference
from gitloop.spec.yaml import load_json

MAX_RESULT_SIZE = 4096
"""Tekton's default ``max-result-size`` in bytes."""


class ResultError(ValueError):
    """A result that is too large or not of its declared type. ``too_large`` tells which."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        self.too_large = too_large
        super().__init__(message)


def parse_result(spec: ResultSpec, raw: str, limit: int = MAX_RESULT_SIZE) -> Any:
    """The value of one result file."""
    size = len(raw.encode("utf-8"))
    if size > limit:
        raise ResultError(
            f"Result exceeded the maximum allowed limit: result {spec.name!r} is more than {limit} bytes "
            f"(max-result-size)",
            too_large=True,
        )
    if spec.type == "string":
        return raw
    try:
        value = load_json(raw, source=f"result {spec.name!r}")
    except json.JSONDecodeError as exc:
        raise ResultError(f"result {spec.name!r} of type {spec.type} is not valid JSON: {exc.msg}") from exc
    except InputLimitError as exc:
        raise ResultError(str(exc)) from exc
    if spec.type == "array":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ResultError(f"result {spec.name!r} of type array must be a JSON array of strings")
        return value
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ResultError(f"result {spec.name!r} of type object must be a JSON object of strings")
    missing = sorted(set(spec.properties) - set(value))
    if missing:
        raise ResultError(f"result {spec.name!r} is missing the keys {missing} its properties declare")
    return value


def collect_results(
    specs: Sequence[ResultSpec],
    raw: Mapping[str, str],
    step_results: Mapping[str, Mapping[str, str]],
    limit: int = MAX_RESULT_SIZE,
) -> dict[str, Any]:
    """The declared results that were written, typed. Undeclared files are ignored, as in Tekton.

    ``step_results`` is keyed by step name (not container name).
    """
    values: dict[str, Any] = {}
    for spec in specs:
        text = raw.get(spec.name)
        if spec.value:
            ref = exact_reference(spec.value)
            if ref is not None:
                _, step, _, result = ref.name.split(".")
                text = step_results.get(step, {}).get(result)
        if text is not None:
            values[spec.name] = parse_result(spec, text, limit)
    return values


def check_step_results(
    specs: Sequence[ResultSpec], raw: Mapping[str, str], limit: int = MAX_RESULT_SIZE
) -> dict[str, str]:
    """A step's own results as text for ``$(steps.<step>.results.<name>)`` (size-checked)."""
    found: dict[str, str] = {}
    for spec in specs:
        if spec.name in raw:
            value = parse_result(spec, raw[spec.name], limit)
            found[spec.name] = value if isinstance(value, str) else json.dumps(value)
    return found


def aggregate(per_run: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Results of a matrixed task: each string result gathered into an array, in combination order."""
    names: list[str] = []
    for results in per_run:
        names.extend(n for n in results if n not in names)
    return {
        name: [r[name] for r in per_run if isinstance(r.get(name), str)]
        for name in names
        if any(isinstance(r.get(name), str) for r in per_run)
    }
