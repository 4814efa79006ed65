"""A step result of type array or object is JSON a step wrote: nested beyond the input limits it fails
that result with a reason, as invalid JSON does, never with the decoder's recursion error."""

from __future__ import annotations

import pytest

from gitloop.pipeline.results import ResultError, parse_result
from gitloop.spec.tekton import ResultSpec

# result file -> the reason (None: read)
CASES: dict[str, str | None] = {
    '["a", "b"]': None,
    "[" * 2000 + "]" * 2000: "result 'r': nests deeper than 100 levels",
    '{"a": [1]': "result 'r' of type array is not valid JSON",
}


@pytest.mark.parametrize("raw", list(CASES), ids=["array", "nested-2000", "invalid"])
def test_array_result(raw: str) -> None:
    reason = CASES[raw]
    spec = ResultSpec("r", "array")
    if reason is None:
        assert parse_result(spec, raw) == ["a", "b"]
        return
    with pytest.raises(ResultError, match=reason):
        parse_result(spec, raw)
