"""The one webhook signature check: HMAC ``<algorithm>=<hex>``, bare hex HMAC-SHA256 and shared tokens."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from gitloop.triggers.signatures import SignatureProblem, hex_hmac_matches, hmac_problem, sign, token_matches

BODY = b'{"ref":"refs/heads/main"}'
SECRET = b"s3cret"


@pytest.mark.parametrize(
    ("value", "algorithms", "expected"),
    [
        (sign(BODY, SECRET), ("sha256",), None),
        (sign(BODY, SECRET, "sha512"), ("sha256", "sha512"), None),
        (sign(BODY, SECRET, "sha512"), ("sha256",), SignatureProblem.FORM),
        ("sha1=" + hmac.new(SECRET, BODY, hashlib.sha1).hexdigest(), ("sha256",), SignatureProblem.FORM),
        ("", ("sha256",), SignatureProblem.MISSING),
        ("sha256=zz", ("sha256",), SignatureProblem.NOT_HEX),
        (sign(BODY, b"other"), ("sha256",), SignatureProblem.MISMATCH),
        (sign(BODY + b" ", SECRET), ("sha256",), SignatureProblem.MISMATCH),
    ],
)
def test_hmac_signatures(value: str, algorithms: tuple[str, ...], expected: SignatureProblem | None) -> None:
    assert hmac_problem(value, BODY, SECRET, algorithms) is expected


def test_bare_hex_signatures() -> None:
    digest = hmac.new(SECRET, BODY, hashlib.sha256).hexdigest()
    assert hex_hmac_matches(digest, BODY, SECRET)
    assert hex_hmac_matches(f" {digest}\n", BODY, SECRET)
    assert not hex_hmac_matches("", BODY, SECRET)
    assert not hex_hmac_matches("not hex", BODY, SECRET)
    assert not hex_hmac_matches(digest, BODY + b"x", SECRET)


def test_tokens() -> None:
    assert token_matches("s3cret", SECRET)
    assert not token_matches("", SECRET)
    assert not token_matches("s3cret ", SECRET)
    assert not token_matches("\udcff", SECRET)
