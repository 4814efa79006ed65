"""Webhook JSON is held to its depth cap however deep it nests, with one clear reason (never the
decoder's recursion error), and to the byte limit of every input."""

from __future__ import annotations

import pytest

from gitloop.triggers import PayloadError, parse_payload


def _nested(levels: int) -> bytes:
    return b'{"a": ' * levels + b"1" + b"}" * levels


# levels of nesting -> the reason of the refusal (None: accepted)
CASES: dict[int, str | None] = {
    64: None,
    65: "the request body nests deeper than 64 levels",
    1_000: "the request body nests deeper than 64 levels",
    100_000: "the request body nests deeper than 64 levels",
}


@pytest.mark.parametrize("levels", sorted(CASES))
def test_depth_cap(levels: int) -> None:
    reason = CASES[levels]
    if reason is None:
        assert parse_payload(_nested(levels), 64)["a"]
        return
    with pytest.raises(PayloadError) as caught:
        parse_payload(_nested(levels), 64)
    assert str(caught.value) == reason


def test_byte_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITLOOP_MAX_INPUT_BYTES", "100")
    parse_payload(b'{"a": "' + b"x" * 90 + b'"}', 64)
    with pytest.raises(PayloadError, match="the request body holds 101 bytes, more than 100"):
        parse_payload(b'{"a": "' + b"x" * 92 + b'"}', 64)
