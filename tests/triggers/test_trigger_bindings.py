"""Binding expressions against real webhook payloads: JSONPath, headers, extensions, defaults, failures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gitloop.spec.triggers import BindingParam, TemplateParam
from gitloop.triggers import BindingError, Headers, event_document, find_expressions, resolve_params
from gitloop.triggers.jsonpath import JsonPathError, evaluate, parse

TESTDATA = Path(__file__).parent / "testdata"
PUSH = json.loads((TESTDATA / "github-push.json").read_text())
PR = json.loads((TESTDATA / "github-pull-request.json").read_text())
HEADERS = Headers(
    [
        ("x-github-event", "push"),
        ("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
        ("Content-Type", "application/json"),
        ("Accept", "text/plain"),
        ("Accept", "application/json"),
        ("X-Gitlab-Token", "do-not-leak"),
    ]
)


def _document(body: Any = PUSH, extensions: dict[str, Any] | None = None) -> dict[str, Any]:
    return event_document(body, HEADERS, extensions or {"short_sha": "9b2c7e1", "n": 3}, "event-1")


# binding value -> what it resolves to against the push payload
RESOLVED: list[tuple[str, str]] = [
    ("$(body.after)", "9b2c7e1a4f3d5b6c8e0a1b2c3d4e5f60718293a4"),
    ("$(.body.ref)", "refs/heads/main"),
    ("$({.body.ref})", "refs/heads/main"),
    ("$(body.repository.clone_url)", "https://github.com/example-org/app-source.git"),
    ("$(body.commits[0].id)", "9b2c7e1a4f3d5b6c8e0a1b2c3d4e5f60718293a4"),
    ("$(body.commits[0].modified[1])", "tests/test_main.py"),
    ("$(body.commits[0].modified[-1])", "tests/test_main.py"),
    ("$(body.commits[0].modified)", '["app/main.py","tests/test_main.py"]'),
    ("$(body.repository.topics[0:1])", "demo"),
    ("$(body.repository.topics[*])", '["demo","gitops"]'),
    ("$(body.commits[*].id)", "9b2c7e1a4f3d5b6c8e0a1b2c3d4e5f60718293a4"),
    ("$(body.commits[0].added)", "[]"),
    ("$(body.repository['full_name'])", "example-org/app-source"),
    ("$(body.repository.id)", "424242"),
    ("$(body.repository.private)", "false"),
    ("$(body.pusher)", '{"email":"ada@example.com","name":"ada"}'),
    ("$(body.head_commit.message)", 'Say "hello" louder\n\nSigned-off-by: Ada <ada@example.com>'),
    ("$(header.X-GitHub-Event)", "push"),
    ("$(header.x-github-event)", "push"),
    ("$(header.X-GITHUB-EVENT)", "push"),
    ("$(header.Accept)", "text/plain,application/json"),
    ("$(extensions.short_sha)", "9b2c7e1"),
    ("$(extensions.n)", "3"),
    ("$(context.eventID)", "event-1"),
    ("build $(body.repository.name) at $(extensions.short_sha)", "build app-source at 9b2c7e1"),
    ("$($(body.ref))", "$(refs/heads/main)"),
    ("no expressions here", "no expressions here"),
    ("$(body.ref) and $(body.ref)", "refs/heads/main and refs/heads/main"),
]


@pytest.mark.parametrize(("value", "expected"), RESOLVED)
def test_binding_values(value: str, expected: str) -> None:
    assert resolve_params([BindingParam("p", value)], [], _document()) == {"p": expected}


def test_whole_body_and_headers() -> None:
    params = [BindingParam("body", "$(body)"), BindingParam("headers", "$(header)")]
    resolved = resolve_params(params, [], _document(body={"b": [1, 2.5], "a": None}))
    assert resolved["body"] == '{"a":null,"b":[1,2.5]}'
    headers = json.loads(resolved["headers"])
    assert headers["X-Github-Event"] == "push"
    assert headers["Accept"] == "text/plain,application/json"
    assert "X-Gitlab-Token" not in headers
    assert "do-not-leak" not in repr(HEADERS)


# binding value -> words of the error, against the push payload (no template default to fall back to)
FAILING: list[tuple[str, str]] = [
    ("$(body.missing)", "missing is not found"),
    ("$(body.head_commit.author.missing)", "missing is not found"),
    ("$(body.commits[5].id)", "array index 5 is out of bounds"),
    ("$(body.ref[0])", "an index needs an array"),
    ("$(body.ref.x)", "x is not found"),
    ("$(header.X-Not-Sent)", "X-Not-Sent is not found"),
    ("$(header.X-Gitlab-Token)", "X-Gitlab-Token is not found"),
    ("$(extensions.nothing)", "nothing is not found"),
    ("$(unknown.root)", "unknown is not found"),
    ("$(body..ref)", "recursive descent"),
    ("$(body.commits[?(@.id)])", "filters and unions are not supported"),
    ("$(body.commits[x])", "invalid array index"),
]


@pytest.mark.parametrize(("value", "words"), FAILING)
def test_binding_failures(value: str, words: str) -> None:
    with pytest.raises(BindingError) as caught:
        resolve_params([BindingParam("p", value)], [], _document())
    assert str(caught.value).startswith(f"failed to replace JSONPath value for param p: {value}: ")
    assert words in str(caught.value)


def test_missing_field_falls_back_to_the_template_default() -> None:
    declared = [
        TemplateParam("revision", default="HEAD"),
        TemplateParam("url"),
        TemplateParam("kept", default="k"),
    ]
    params = [
        BindingParam("revision", "rev-$(body.pull_request.head.sha)"),
        BindingParam("url", "$(body.repository.clone_url)"),
    ]
    assert resolve_params(params, declared, _document()) == {
        "revision": "rev-HEAD",
        "url": "https://github.com/example-org/app-source.git",
        "kept": "k",
    }
    with pytest.raises(BindingError, match="param url"):
        resolve_params([BindingParam("url", "$(body.nope)")], declared, _document())


def test_values_are_not_scanned_again() -> None:
    body = {"a": "$(body.b)", "b": "secret-ish"}
    resolved = resolve_params([BindingParam("p", "$(body.a)+$(body.b)")], [], _document(body=body))
    assert resolved == {"p": "$(body.b)+secret-ish"}


def test_pull_request_bindings() -> None:
    params = [
        BindingParam("sha", "$(body.pull_request.head.sha)"),
        BindingParam("label", "$(body.pull_request.labels[1].name)"),
        BindingParam("pr", "pr-$(body.number)"),
        BindingParam("merged", "$(body.pull_request.merged)"),
    ]
    assert resolve_params(params, [], _document(body=PR)) == {
        "sha": "c0ffee1234567890abcdef1234567890abcdef12",
        "label": "area/api",
        "pr": "pr-17",
        "merged": "false",
    }


def test_escaped_dots_and_quoted_keys() -> None:
    body = {"dev.tekton.dev/foo": "triggers", "a b": {"c": 1.0}}
    assert evaluate({"body": body}, r"body.dev\.tekton\.dev\/foo") == "triggers"
    assert evaluate({"body": body}, "body['a b'].c") == "1"
    assert evaluate({"body": body}, 'body["a b"]') == '{"c":1}'


def test_expression_scanner_matches_tekton() -> None:
    assert [e.path for e in find_expressions("$(body.a) x $(body.f(x)) $(unclosed")] == [
        "body.a",
        "body.f(x)",
    ]
    assert [e.path for e in find_expressions("$($(body.b))")] == ["body.b"]
    assert [(e.start, e.end, e.path) for e in find_expressions("$body.a) and $()")] == [(13, 16, "")]
    with pytest.raises(JsonPathError, match="empty expression"):
        parse("")
