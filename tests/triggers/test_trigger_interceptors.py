"""Interceptors as tables: GitHub HMAC, GitLab token, Bitbucket signature, CEL filters, overlays, functions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gitloop.spec.triggers import (
    CelInterceptor,
    Interceptor,
    Overlay,
    ProviderInterceptor,
    SecretRef,
    SecretValues,
)
from gitloop.triggers import IncomingEvent, parse_payload
from gitloop.triggers.interceptors import EventView, InterceptorInput, Verdict, run_chain, run_one
from gitloop.triggers.interceptors.cel import CelError, evaluate, set_path
from gitloop.triggers.signatures import sign

TESTDATA = Path(__file__).parent / "testdata"
PUSH_BYTES = (TESTDATA / "github-push.json").read_bytes()
GITLAB_BYTES = (TESTDATA / "gitlab-push.json").read_bytes()
SECRET = b"It's a Secret to Everybody"
SECRETS = SecretValues({"hook": {"token": SECRET, "empty": b""}, "gl": {"token": "gitlab-token-123"}})
REF = SecretRef("hook", "token")


def _run(interceptor: Any, headers: dict[str, str], body: bytes = PUSH_BYTES, **extensions: Any) -> Verdict:
    event = IncomingEvent.of(headers, body, url="https://ci.example.com/hooks/github?x=1")
    view = EventView(event, parse_payload(body, 64), "event-1")
    return run_one(interceptor, InterceptorInput(view, SECRETS, extensions))


GITHUB = ProviderInterceptor("github", secret_ref=REF, event_types=("push", "pull_request"))
SIGNED = sign(PUSH_BYTES, SECRET)

# (interceptor, headers, body, expected status, words of the message)
PROVIDER_CASES: list[tuple[ProviderInterceptor, dict[str, str], bytes, str, str]] = [
    (GITHUB, {"X-Hub-Signature-256": SIGNED, "X-GitHub-Event": "push"}, PUSH_BYTES, "continue", ""),
    (
        GITHUB,
        {"x-hub-signature-256": SIGNED.upper().replace("SHA256", "sha256"), "x-github-event": "push"},
        PUSH_BYTES,
        "continue",
        "",
    ),
    (GITHUB, {"X-GitHub-Event": "push"}, PUSH_BYTES, "unauthenticated", "no X-Hub-Signature-256 header set"),
    (
        GITHUB,
        {"X-Hub-Signature-256": sign(PUSH_BYTES, b"wrong"), "X-GitHub-Event": "push"},
        PUSH_BYTES,
        "unauthenticated",
        "signature check failed",
    ),
    (
        GITHUB,
        {"X-Hub-Signature-256": SIGNED, "X-GitHub-Event": "push"},
        PUSH_BYTES + b" ",
        "unauthenticated",
        "signature check failed",
    ),
    (
        GITHUB,
        {"X-Hub-Signature-256": SIGNED[:-2], "X-GitHub-Event": "push"},
        PUSH_BYTES,
        "unauthenticated",
        "signature check failed",
    ),
    (
        GITHUB,
        {"X-Hub-Signature-256": "sha256=zz", "X-GitHub-Event": "push"},
        PUSH_BYTES,
        "unauthenticated",
        "not hexadecimal",
    ),
    (
        GITHUB,
        {"X-Hub-Signature-256": SIGNED.replace("sha256=", ""), "X-GitHub-Event": "push"},
        PUSH_BYTES,
        "unauthenticated",
        "not of the form sha256=<hex>",
    ),
    (
        GITHUB,
        {"X-Hub-Signature-256": sign(PUSH_BYTES, SECRET, "sha512"), "X-GitHub-Event": "push"},
        PUSH_BYTES,
        "unauthenticated",
        "not of the form",
    ),
    (
        GITHUB,
        {"X-Hub-Signature": "sha1=" + "0" * 40, "X-GitHub-Event": "push"},
        PUSH_BYTES,
        "unauthenticated",
        "no X-Hub-Signature-256",
    ),
    (
        GITHUB,
        {"X-Hub-Signature-256": SIGNED, "X-GitHub-Event": "issues"},
        PUSH_BYTES,
        "filtered",
        "event type 'issues'",
    ),
    (
        GITHUB,
        {"X-Hub-Signature-256": "sha256=00", "X-GitHub-Event": "issues"},
        PUSH_BYTES,
        "unauthenticated",
        "signature check failed",
    ),
    (GITHUB, {"X-Hub-Signature-256": SIGNED}, PUSH_BYTES, "filtered", "event type ''"),
    (
        ProviderInterceptor("github", event_types=("push",)),
        {"X-GitHub-Event": "push"},
        PUSH_BYTES,
        "continue",
        "",
    ),
    (
        ProviderInterceptor("github", event_types=()),
        {"X-GitHub-Event": "push"},
        PUSH_BYTES,
        "filtered",
        "not allowed",
    ),
    (ProviderInterceptor("github"), {}, PUSH_BYTES, "continue", ""),
    (
        ProviderInterceptor("github", secret_ref=SecretRef("nope", "token")),
        {"X-Hub-Signature-256": SIGNED},
        PUSH_BYTES,
        "misconfigured",
        "Secret/nope key 'token' is not available",
    ),
    (
        ProviderInterceptor("github", secret_ref=SecretRef("hook", "empty")),
        {"X-Hub-Signature-256": sign(PUSH_BYTES, b"")},
        PUSH_BYTES,
        "misconfigured",
        "is empty",
    ),
    (
        ProviderInterceptor("gitlab", secret_ref=SecretRef("gl", "token"), event_types=("Push Hook",)),
        {"X-Gitlab-Token": "gitlab-token-123", "X-Gitlab-Event": "Push Hook"},
        GITLAB_BYTES,
        "continue",
        "",
    ),
    (
        ProviderInterceptor("gitlab", secret_ref=SecretRef("gl", "token"), event_types=("Push Hook",)),
        {"X-Gitlab-Token": "gitlab-token-12", "X-Gitlab-Event": "Push Hook"},
        GITLAB_BYTES,
        "unauthenticated",
        "invalid X-Gitlab-Token",
    ),
    (
        ProviderInterceptor("gitlab", secret_ref=SecretRef("gl", "token"), event_types=("Push Hook",)),
        {"X-Gitlab-Token": "gitlab-token-123\u00e9", "X-Gitlab-Event": "Push Hook"},
        GITLAB_BYTES,
        "unauthenticated",
        "invalid X-Gitlab-Token",
    ),
    (
        ProviderInterceptor("gitlab", secret_ref=SecretRef("gl", "token")),
        {"X-Gitlab-Event": "Push Hook"},
        GITLAB_BYTES,
        "unauthenticated",
        "no X-Gitlab-Token header set",
    ),
    (
        ProviderInterceptor("gitlab", secret_ref=SecretRef("gl", "token"), event_types=("Push Hook",)),
        {"X-Gitlab-Token": "gitlab-token-123", "X-Gitlab-Event": "Tag Push Hook"},
        GITLAB_BYTES,
        "filtered",
        "'Tag Push Hook'",
    ),
    (
        ProviderInterceptor("bitbucket", secret_ref=REF, event_types=("repo:refs_changed",)),
        {"X-Hub-Signature": sign(PUSH_BYTES, SECRET), "X-Event-Key": "repo:refs_changed"},
        PUSH_BYTES,
        "continue",
        "",
    ),
    (
        ProviderInterceptor("bitbucket", secret_ref=REF),
        {"X-Hub-Signature": sign(PUSH_BYTES, SECRET, "sha512")},
        PUSH_BYTES,
        "continue",
        "",
    ),
    (
        ProviderInterceptor("bitbucket", secret_ref=REF),
        {"X-Hub-Signature": "sha1=" + "0" * 40},
        PUSH_BYTES,
        "unauthenticated",
        "sha256=<hex> or sha512=<hex>",
    ),
    (
        ProviderInterceptor("bitbucket", event_types=("repo:push",)),
        {"X-Event-Key": "pullrequest:created"},
        PUSH_BYTES,
        "filtered",
        "not allowed",
    ),
]


@pytest.mark.parametrize(("interceptor", "headers", "body", "status", "words"), PROVIDER_CASES)
def test_provider_interceptors(
    interceptor: ProviderInterceptor, headers: dict[str, str], body: bytes, status: str, words: str
) -> None:
    verdict = _run(interceptor, headers, body)
    assert verdict.status == status
    assert words in verdict.message
    for secret in ("Everybody", "gitlab-token", SIGNED[7:]):
        assert secret not in verdict.message


HEADERS = {"X-GitHub-Event": "push", "X-Request-Id": "r-1", "X-Gitlab-Token": "gitlab-token-123"}

# filter -> passes? (against the GitHub push payload, HEADERS, extensions {"short": "9b2c7e1", "count": 2})
FILTERS: list[tuple[str, bool]] = [
    ("body.ref == 'refs/heads/main'", True),
    ("body.ref.startsWith('refs/tags/')", False),
    ("header.match('X-GitHub-Event', 'push')", True),
    ("header.match('x-github-event', 'push')", True),
    ("header.match('X-GitHub-Event', 'pull_request')", False),
    ("header.match('X-Not-Sent', '')", False),
    ("header.canonical('x-request-id') == 'r-1'", True),
    ("header['X-Github-Event'][0] == 'push'", True),
    ("body.repository.id == 424242", True),
    ("body.repository.id > 400000", True),
    ("body.repository.id == 424242.0 && body.repository.id != 1", True),
    ("body.commits.size() == 1 && body.commits[0].modified.exists(f, f.startsWith('app/'))", True),
    ("body.commits.all(c, c.author.username == 'ada')", True),
    ("'demo' in body.repository.topics", True),
    ("extensions.short == 'short'.truncate(0) + '9b2c7e1'", True),
    ("extensions.count == 2", True),
    ("requestURL.parseURL().path == '/hooks/github' && requestURL.parseURL().query['x'] == '1'", True),
    ("body.ref.split('/')[2] == 'main'", True),
    ("body.deleted", False),
    ("body.ref", False),
    ("body.pull_request.merged == true", False),
    ("has(body.pull_request)", False),
    ("body.ref == 1", False),
    ("header.canonical('X-Gitlab-Token').compareSecret('token', 'gl')", True),
    ("'guess'.compareSecret('token', 'gl', 'other-namespace')", False),
]


@pytest.mark.parametrize(("expression", "passes"), FILTERS)
def test_cel_filters(expression: str, passes: bool) -> None:
    verdict = _run(CelInterceptor(filter=expression), HEADERS, short="9b2c7e1", count=2)
    assert verdict.status == ("continue" if passes else "filtered"), verdict.message


# expression -> its value as an extension
OVERLAYS: list[tuple[str, Any]] = [
    ("body.after.truncate(7)", "9b2c7e1"),
    ("truncate(body.after, 100)", "9b2c7e1a4f3d5b6c8e0a1b2c3d4e5f60718293a4"),
    ("body.ref.split('/')", ["refs", "heads", "main"]),
    ("body.ref.split('/', 2)", ["refs", "heads/main"]),
    ("['a', 'b'].join('-')", "a-b"),
    ("'Hello World'.lowerAscii()", "hello world"),
    ("'Hello'.upperAscii()", "HELLO"),
    ("'this that another'.replace('th', '', 1)", "is that another"),
    ("'refs/heads/main'.substring(11)", "main"),
    ("'  padded '.trim()", "padded"),
    ("'a/b/c'.indexOf('/')", 1),
    ("'a/b/c'.lastIndexOf('/')", 3),
    ('\'{"k": [1, "v"]}\'.parseJSON().k', [1.0, "v"]),
    ("body.pusher.marshalJSON()", '{"email":"ada@example.com","name":"ada"}'),
    ("body.commits[0].modified.first()", "app/main.py"),
    ("body.commits[0].modified.last()", "tests/test_main.py"),
    ("[].first()", None),
    ("'This is $an Invalid5String '.translate('[^a-z0-9]+', '')", "hisisannvalid5tring"),
    ("'v1.2.3'.translate('v(\\\\d+)\\\\.(\\\\d+).*', '$2.$1 costs $$5')", "2.1 costs $5"),
    ("'aGVsbG8='.decodeb64()", "hello"),
    ("body.repository.id + 1.0", 424243.0),
    ("int(body.repository.id) + 2", 424244),
    ("body.commits.map(c, c.id.truncate(4))", ["9b2c"]),
    ("{'sha': body.after.truncate(3), 'n': 1}", {"sha": "9b2", "n": 1}),
    ("b'hi'", "aGk="),
    ("body.deleted || true", True),
    (
        "'https://u:p%21@example.com:8443/a%20b?q=1&q=2#frag'.parseURL()",
        {
            "scheme": "https",
            "host": "example.com:8443",
            "path": "/a b",
            "rawQuery": "q=1&q=2",
            "fragment": "frag",
            "queryStrings": {"q": ["1", "2"]},
            "query": {"q": "1,2"},
            "auth": {"username": "u", "password": "p!"},
        },
    ),
]


@pytest.mark.parametrize(("expression", "value"), OVERLAYS)
def test_cel_overlays(expression: str, value: Any) -> None:
    verdict = _run(CelInterceptor(overlays=(Overlay("out", expression),)), HEADERS)
    assert verdict.status == "continue", verdict.message
    assert verdict.extensions == {"out": value}


def test_overlays_nest_by_dotted_key_and_see_the_same_input() -> None:
    overlays = (
        Overlay("release.version", "body.ref.split('/')[2]"),
        Overlay("release.sha", "body.after.truncate(4)"),
        Overlay("dots\\.kept", "'x'"),
        Overlay("seen", "has(extensions.release)"),
    )
    verdict = _run(CelInterceptor(filter="true", overlays=overlays), HEADERS)
    assert verdict.extensions == {
        "release": {"version": "main", "sha": "9b2c"},
        "dots.kept": "x",
        "seen": False,
    }


# expression -> (words of the safe message)
FAILURES: list[tuple[str, str]] = [
    ("body.missing", "no such key: 'missing'"),
    ("body.head_commit.nope.deeper", "no such key: 'nope'"),
    ("body.repository.id + 1", "no such overload (JSON numbers are doubles in CEL"),
    ("header['X-Gitlab-Token'][0] + 5", "no such overload"),
    ("header['X-Gitlab-Token'][0].truncate(-1)", "truncate: the length must not be negative"),
    ("header['X-Gitlab-Token'][0].parseJSON()", "parseJSON: the string is not JSON"),
    ("header['X-Gitlab-Token'][0].noSuchFunction()", "undeclared reference to 'noSuchFunction'"),
    ("'x'.compareSecret('token', 'missing')", "compareSecret: Secret/missing key 'token' is not available"),
    ("body.ref.split('/')[9]", "index out of range"),
    ("1 / 0", "division by zero"),
    ("'abc'.substring(2, 9)", "substring: index out of range"),
]


@pytest.mark.parametrize(("expression", "words"), FAILURES)
def test_cel_failures_are_safe_to_show(expression: str, words: str) -> None:
    overlay = _run(CelInterceptor(overlays=(Overlay("out", expression),)), HEADERS)
    assert overlay.status == "failed"
    assert words in overlay.message
    filtered = _run(CelInterceptor(filter=expression), HEADERS)
    assert filtered.status == "filtered"
    for verdict in (overlay, filtered):
        assert "gitlab-token-123" not in verdict.message
        assert "ada@example.com" not in verdict.message


def test_chain_stops_at_the_first_rejection_and_merges_extensions() -> None:
    body = PUSH_BYTES
    event = IncomingEvent.of({"X-Hub-Signature-256": SIGNED, "X-GitHub-Event": "push"}, body)
    view = EventView(event, parse_payload(body, 64), "e")
    chain: list[Interceptor] = [
        GITHUB,
        CelInterceptor(overlays=(Overlay("a", "'one'"), Overlay("b.c", "'two'"))),
        CelInterceptor(
            filter="extensions.a == 'one' && extensions.group == 'g'", overlays=(Overlay("b", "'three'"),)
        ),
    ]
    verdict = run_chain(chain, view, SECRETS, {"group": "g", "a": "zero"})
    assert verdict.proceeds
    assert verdict.extensions == {"group": "g", "a": "one", "b": "three"}
    stopped = run_chain(
        [CelInterceptor(name="only-tags", filter="body.ref.startsWith('refs/tags/')"), GITHUB],
        view,
        SECRETS,
        {},
    )
    assert stopped.status == "filtered" and stopped.message.startswith("only-tags interceptor: ")


def test_syntax_errors_and_paths() -> None:
    with pytest.raises(CelError, match="syntax error"):
        evaluate("body.ref ==", {}, {})
    target: dict[str, Any] = {"a": "scalar"}
    set_path(target, "a.b", 1)
    assert target == {"a": {"b": 1}}


def test_payload_fixtures_are_json() -> None:
    for name in ("github-push.json", "github-pull-request.json", "gitlab-push.json"):
        assert isinstance(json.loads((TESTDATA / name).read_text()), dict)
