"""Redacting Secrets out of the YAML a run keeps, and masking secret values out of step output.

Each ``testdata/<case>.yaml`` is read with the Tekton loader's YAML reader and redacted; the result must
equal ``<case>.expected.yaml`` (``HASH`` stands for the content hash, checked separately).
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml

from gitloop.spec.redact import REDACTED_HASH, SecretMask, content_hash, redacted_yaml
from gitloop.spec.yaml.documents import load_file

TESTDATA = Path(__file__).parent / "testdata"
CASES = sorted(p.name.removesuffix(".yaml") for p in TESTDATA.glob("*.yaml") if ".expected" not in p.name)


def _redacted(case: str) -> list[dict[str, object]]:
    text = redacted_yaml(d.body for d in load_file(TESTDATA / f"{case}.yaml"))
    return list(yaml.safe_load_all(text))


@pytest.mark.parametrize("case", CASES)
def test_redacted_as_expected(case: str) -> None:
    got = _redacted(case)
    for doc in got:
        annotations = doc.get("metadata", {}).get("annotations", {})  # type: ignore[attr-defined]
        if REDACTED_HASH in annotations:
            assert len(annotations[REDACTED_HASH]) == 64
            annotations[REDACTED_HASH] = "HASH"
    expected = list(yaml.safe_load_all((TESTDATA / f"{case}.expected.yaml").read_text()))
    assert got == expected


@pytest.mark.parametrize("case", CASES)
def test_no_secret_value_survives(case: str) -> None:
    source = (TESTDATA / f"{case}.yaml").read_text()
    text = redacted_yaml(d.body for d in load_file(TESTDATA / f"{case}.yaml"))
    for secret in ("hunter2-and-more", "Z2l0bG9vcA==", "b3BlbnNzaC1rZXktdjEAAAAA", "not-base64-but-secret"):
        if secret in source:
            assert secret not in text


def test_the_hash_tells_contents_apart_and_only_contents() -> None:
    one = {"kind": "Secret", "metadata": {"name": "a"}, "stringData": {"k": "v1"}}
    same = {"kind": "Secret", "metadata": {"name": "b", "labels": {"x": "y"}}, "stringData": {"k": "v1"}}
    other = {"kind": "Secret", "metadata": {"name": "a"}, "stringData": {"k": "v2"}}
    moved = {"kind": "Secret", "metadata": {"name": "a"}, "data": {"k": "v1"}}
    assert content_hash(one) == content_hash(same)
    assert len({content_hash(one), content_hash(other), content_hash(moved)}) == 3


KEY = "-----BEGIN KEY-----\nAAAAB3NzaC1yc2EAAAADAQABAAABAQ\n-----END KEY-----\n"

# text printed by a step -> what is kept of it
MASKED = [
    ("token=s3cr3t-value", "token=***"),
    ("basic " + base64.b64encode(b"s3cr3t-value").decode(), "basic ***"),
    ("form p=pa%2Bss%2Fw0rd", "form p=***"),
    ("AAAAB3NzaC1yc2EAAAADAQABAAABAQ", "***"),
    ("-----BEGIN KEY-----", "***"),
    ("no secret here: abc", "no secret here: abc"),
    ("cloning https://bot:ghp_tok3n@git.example.com/a.git", "cloning https://bot:***@git.example.com/a.git"),
    ("fatal: 'ssh://git:pw@h:22/r' and http://h/x@y", "fatal: 'ssh://git:***@h:22/r' and http://h/x@y"),
]


@pytest.mark.parametrize(("line", "kept"), MASKED)
def test_mask(line: str, kept: str) -> None:
    mask = SecretMask(["s3cr3t-value", b"pa+ss/w0rd", KEY.encode(), "abc"])
    assert mask(line) == kept


def test_short_values_are_not_masked() -> None:
    mask = SecretMask(["", "ab"])
    assert mask("ab ab") == "ab ab"


_DOC_CASES = {
    "nested url password": (
        {"a": [{"u": "https://bot:hunter2@git.example/x.git"}], "n": 1},
        {"a": [{"u": "https://bot:***@git.example/x.git"}], "n": 1},
    ),
    "url without a password": ({"u": "https://git.example/x.git", "m": "me@example"}, None),
    "no url at all": ({"status": {"conditions": [{"reason": "Succeeded"}]}, "t": 1.5, "ok": True}, None),
    "password in a key is not touched": ({"https://a:b@c": "v"}, None),
    "a value JSON cannot encode": (
        {"when": object, "u": "git://u:pw@h/r"},
        {"when": object, "u": "git://u:***@h/r"},
    ),
    "a bare string": ("ssh://git:token@h/r", "ssh://git:***@h/r"),
}


@pytest.mark.parametrize("case", sorted(_DOC_CASES))
def test_redact_strings_masks_every_url_password_in_a_document(case: str) -> None:
    from gitloop.spec.redact import redact_strings

    given, expected = _DOC_CASES[case]
    got = redact_strings(given)
    assert got == (given if expected is None else expected)
    if case == "no url at all":
        assert got is given, "a document with no URL in it is passed through, not walked"
