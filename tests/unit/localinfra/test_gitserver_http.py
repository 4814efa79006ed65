"""The git server's HTTP pieces: chunked body decoding and basic auth parsing, table-driven."""

from __future__ import annotations

import base64
import io

import pytest

from gitloop.localinfra.githttp import BasicAuth, RequestBodyError, iter_chunked, iter_sized, parse_basic


@pytest.mark.parametrize(
    ("raw", "data", "rest"),
    [
        pytest.param(b"0\r\n\r\n", b"", b"", id="empty"),
        pytest.param(b"5\r\nhello\r\n0\r\n\r\n", b"hello", b"", id="one-chunk"),
        pytest.param(
            b"5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n", b"hello world", b"", id="three-chunks"
        ),
        pytest.param(b"A\r\n0123456789\r\n0\r\n\r\n", b"0123456789", b"", id="hex-upper"),
        pytest.param(b"a;name=value\r\n0123456789\r\n0\r\n\r\n", b"0123456789", b"", id="extension"),
        pytest.param(b"3\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n", b"abc", b"", id="trailer"),
        pytest.param(b"3\nabc\n0\n\n", b"abc", b"", id="bare-lf"),
        pytest.param(b"3\r\nabc\r\n0\r\n\r\nNEXT", b"abc", b"NEXT", id="stops-at-end"),
        pytest.param(b"0003\r\nabc\r\n0\r\n\r\n", b"abc", b"", id="leading-zeros"),
    ],
)
def test_chunked_decodes(raw: bytes, data: bytes, rest: bytes) -> None:
    stream = io.BytesIO(raw)
    assert b"".join(iter_chunked(stream)) == data
    assert stream.read() == rest


def test_chunked_large_chunk_comes_in_pieces() -> None:
    payload = bytes(range(256)) * 1024  # 256 KiB in one chunk
    raw = f"{len(payload):x}\r\n".encode() + payload + b"\r\n0\r\n\r\n"
    pieces = list(iter_chunked(io.BytesIO(raw)))
    assert b"".join(pieces) == payload
    assert len(pieces) > 1


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"", id="nothing"),
        pytest.param(b"5\r\nhel", id="truncated-data"),
        pytest.param(b"5\r\nhelloXX0\r\n\r\n", id="no-crlf-after-data"),
        pytest.param(b"zz\r\n", id="not-hex"),
        pytest.param(b"0x5\r\nhello\r\n0\r\n\r\n", id="0x-prefix"),
        pytest.param(b"-5\r\n", id="negative"),
        pytest.param(b"1_0\r\n", id="underscore"),
        pytest.param(b"\r\n", id="empty-size"),
        pytest.param(b"5", id="no-line-end"),
        pytest.param(b"0\r\n", id="no-final-crlf"),
        pytest.param(b"1" * 5000 + b"\r\n", id="overlong-line"),
        pytest.param(b"11111111111111111\r\n", id="size-too-large"),
    ],
)
def test_chunked_rejects(raw: bytes) -> None:
    with pytest.raises(RequestBodyError):
        b"".join(iter_chunked(io.BytesIO(raw)))


def test_sized_reads_exactly_and_detects_short_bodies() -> None:
    stream = io.BytesIO(b"abcdefgh")
    assert b"".join(iter_sized(stream, 5)) == b"abcde"
    assert stream.read() == b"fgh"
    assert b"".join(iter_sized(io.BytesIO(b""), 0)) == b""
    with pytest.raises(RequestBodyError, match="3 bytes early"):
        b"".join(iter_sized(io.BytesIO(b"ab"), 5))


def _basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param(None, None, id="missing"),
        pytest.param("", None, id="empty"),
        pytest.param(_basic("alice:secret"), ("alice", "secret"), id="plain"),
        pytest.param(_basic("alice:se:cr:et"), ("alice", "se:cr:et"), id="colons-in-password"),
        pytest.param(_basic("alice:"), ("alice", ""), id="empty-password"),
        pytest.param(_basic("ålice:pässword"), ("ålice", "pässword"), id="utf8"),
        pytest.param("basic " + base64.b64encode(b"a:b").decode(), ("a", "b"), id="scheme-case"),
        pytest.param(_basic("no-colon"), None, id="no-colon"),
        pytest.param("Bearer abc", None, id="other-scheme"),
        pytest.param("Basic", None, id="no-token"),
        pytest.param("Basic !!!notbase64", None, id="bad-base64"),
        pytest.param("Basic " + base64.b64encode(b"\xff\xfe:x").decode(), None, id="not-utf8"),
    ],
)
def test_parse_basic(header: str | None, expected: tuple[str, str] | None) -> None:
    assert parse_basic(header) == expected


@pytest.mark.parametrize(
    ("header", "user"),
    [
        pytest.param(_basic("alice:secret"), "alice", id="right"),
        pytest.param(_basic("alice:wrong"), None, id="wrong-password"),
        pytest.param(_basic("bob:secret"), None, id="wrong-user"),
        pytest.param(_basic("alice:secret "), None, id="trailing-space"),
        pytest.param(None, None, id="missing"),
    ],
)
def test_basic_auth_check(header: str | None, user: str | None) -> None:
    assert BasicAuth("alice", "secret").check(header) == user


def test_basic_auth_never_shows_its_password() -> None:
    assert "secret" not in repr(BasicAuth("alice", "secret"))
