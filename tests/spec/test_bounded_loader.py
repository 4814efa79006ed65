"""The one bounded loader: every file in testdata/hostile/ is read, or refused, as its row says, by every
reader gitloop has (the loader itself, Kubernetes manifests, Tekton documents, the round-trip editor of
``image set``), fast and without a traceback; JSON and the limits themselves are held to the same rules."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gitloop.errors import InputLimitError, SpecError, UsageError
from gitloop.handoff.yamltext import YamlText
from gitloop.spec.manifests import parse_manifests
from gitloop.spec.yaml import InputLimits, check_text, load_all, load_json, read_text
from gitloop.spec.yaml.documents import load_text

HOSTILE = Path(__file__).parent / "testdata" / "hostile"

# file -> None when it reads, else (line the error names, words the message must contain)
YAML_CASES: dict[str, tuple[int, str] | None] = {
    "anchors-within-limits.yaml": None,
    "nested-100.yaml": None,
    "billion-laughs.yaml": (2, "YAML aliases expand to more than 100000 nodes"),
    "recursive-alias.yaml": (2, "a YAML alias refers to a node that contains it"),
    "deep-flow.yaml": (7, "nests deeper than 100 levels"),
    "deep-through-aliases.yaml": (2, "nests deeper than 100 levels"),
}

READERS: dict[str, Callable[[str, str], Any]] = {
    "load_all": lambda text, name: load_all(text, source=name),
    "check_text": lambda text, name: check_text(text, source=name),
    "manifests": lambda text, name: parse_manifests(text, source=name),
    "tekton": lambda text, name: load_text(text, name),
    "image-set": lambda text, name: YamlText.parse(text, file=name),
}

HINTS = {
    "aliases": "GITLOOP_MAX_ALIAS_NODES",
    "deeper": "GITLOOP_MAX_INPUT_DEPTH",
}


def test_every_hostile_file_has_a_row() -> None:
    assert {p.name for p in HOSTILE.glob("*.yaml")} == set(YAML_CASES)


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize("name", sorted(YAML_CASES))
def test_hostile_yaml_is_refused_fast_naming_file_line_and_limit(name: str, reader: str) -> None:
    text = (HOSTILE / name).read_text(encoding="utf-8")
    expected = YAML_CASES[name]
    started = time.monotonic()
    if expected is None:
        READERS[reader](text, name)
        return
    line, words = expected
    with pytest.raises(InputLimitError) as caught:
        READERS[reader](text, name)
    assert time.monotonic() - started < 1.0
    assert caught.value.file == f"{name}:{line}"
    assert words in str(caught.value)
    hint = next((v for k, v in HINTS.items() if k in words), None)
    if hint:
        assert f"set {hint} to change it" in str(caught.value)


def test_anchors_within_limits_read_as_written() -> None:
    [doc] = load_all((HOSTILE / "anchors-within-limits.yaml").read_text(encoding="utf-8"), source="a")
    web, sidecar = doc["spec"]["template"]["spec"]["containers"]
    assert doc["spec"]["selector"]["matchLabels"] == {"app": "web", "tier": "front"}
    assert sidecar == {**web, "name": "sidecar"}


def _block_nesting(levels: int) -> str:
    return "".join(f"{'  ' * i}k{i}:\n" for i in range(levels)) + f"{'  ' * levels}leaf\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (_block_nesting(99), None),  # 99 mappings and the scalar leaf
        (_block_nesting(101), (101, "nests deeper than 100 levels")),
        (_block_nesting(1000), (101, "nests deeper than 100 levels")),
        ("x: " + "{a: " * 1000 + "1" + "}" * 1000 + "\n", (1, "nests deeper than 100 levels")),
        ("---\n" + "a: &a [x, x, x, x]\nb: [*a, *a]\n" * 1 + "---\nc: 1\n", None),
    ],
    ids=["block-99", "block-101", "block-1000", "flow-map-1000", "two-documents"],
)
def test_generated_nesting(text: str, expected: tuple[int, str] | None) -> None:
    if expected is None:
        load_all(text, source="gen.yaml")
        return
    with pytest.raises(InputLimitError) as caught:
        load_all(text, source="gen.yaml")
    assert caught.value.file == f"gen.yaml:{expected[0]}"
    assert expected[1] in str(caught.value)


def test_alias_budget_is_shared_by_every_document_of_a_stream() -> None:
    one = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    limits = InputLimits(max_alias_nodes=250)
    load_all(one + "---\n" + one, source="s", limits=limits)  # 110 nodes added per document
    with pytest.raises(InputLimitError, match="more than 250 nodes"):
        load_all("---\n".join([one] * 3), source="s", limits=limits)


def test_a_stream_over_the_byte_limit_is_refused_before_parsing() -> None:
    limits = InputLimits(max_bytes=64)
    load_all("a: " + "x" * 61, source="s", limits=limits)
    with pytest.raises(InputLimitError) as caught:
        load_all("a: " + "é" * 31, source="s.yaml", limits=limits)  # 31 characters, 65 bytes
    assert str(caught.value) == (
        "s.yaml: holds 65 bytes, more than 64 (the limit; set GITLOOP_MAX_INPUT_BYTES to change it)"
    )


def test_an_oversized_file_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"# " + b"x" * (8 * 1024 * 1024) + b"\n")
    with pytest.raises(InputLimitError) as caught:
        read_text(big)
    assert str(caught.value).startswith(f"{big}: holds 8388611 bytes, more than 8388608")


# text -> None when it reads, else the words of the refusal
JSON_CASES: dict[str, str | None] = {
    "[" * 100 + "]" * 100: None,
    "[" * 101 + "]" * 101: "nests deeper than 100 levels",
    '{"a": ' * 101 + "1" + "}" * 101: "nests deeper than 100 levels",
    (HOSTILE / "deep-flow.json").read_text(encoding="utf-8"): "nests deeper than 100 levels",
    "[" * 100_000 + "]" * 100_000: "nests deeper than 100 levels",
}


@pytest.mark.parametrize("text", list(JSON_CASES), ids=["100", "101", "objects-101", "file-1000", "100000"])
def test_json_depth(text: str) -> None:
    words = JSON_CASES[text]
    if words is None:
        load_json(text, source="body")
        return
    with pytest.raises(InputLimitError) as caught:
        load_json(text, source="body")
    assert caught.value.file == "body"
    assert words in str(caught.value)


def test_json_syntax_errors_stay_the_decoders_own() -> None:
    with pytest.raises(ValueError, match="Expecting value"):
        load_json("[1,", source="body")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, InputLimits()),
        (
            {
                "GITLOOP_MAX_INPUT_BYTES": "1_000",
                "GITLOOP_MAX_INPUT_DEPTH": "20",
                "GITLOOP_MAX_ALIAS_NODES": "5",
            },
            InputLimits(max_bytes=1000, max_depth=20, max_alias_nodes=5),
        ),
        ({"GITLOOP_MAX_INPUT_BYTES": "lots"}, "GITLOOP_MAX_INPUT_BYTES='lots': not a whole number"),
        ({"GITLOOP_MAX_ALIAS_NODES": "0"}, "GITLOOP_MAX_ALIAS_NODES='0': must be at least 1"),
        ({"GITLOOP_MAX_INPUT_DEPTH": "5000"}, "GITLOOP_MAX_INPUT_DEPTH='5000': must be at most 150"),
    ],
    ids=["defaults", "all-set", "not-a-number", "zero", "too-deep-for-python"],
)
def test_limits_from_the_environment(env: dict[str, str], expected: InputLimits | str) -> None:
    if isinstance(expected, InputLimits):
        assert InputLimits.from_env(env) == expected
        return
    with pytest.raises(UsageError) as caught:
        InputLimits.from_env(env)
    assert str(caught.value) == expected


@pytest.mark.parametrize("reader", sorted(READERS))
def test_the_deepest_configurable_document_reads_without_overflowing_the_stack(
    reader: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITLOOP_MAX_INPUT_DEPTH", "150")
    READERS[reader]("apiVersion: v1\nkind: Deep\nx: " + "[" * 149 + "]" * 149 + "\n", "deep.yaml")
    load_json("[" * 150 + "]" * 150, source="deep.json")


def test_an_invalid_file_is_still_a_plain_spec_error() -> None:
    with pytest.raises(SpecError, match="invalid YAML") as caught:
        load_all("a: b: c\n", source="bad.yaml")
    assert not isinstance(caught.value, InputLimitError)
