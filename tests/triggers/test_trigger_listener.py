"""The webhook handler end to end on the testdata listeners: every status code, and what is created."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gitloop.spec.triggers import ResolvedListener, SecretValues, TriggerSet, load
from gitloop.triggers import (
    EVENT_ID_LABEL,
    LISTENER_LABEL,
    TRIGGER_LABEL,
    Ids,
    IncomingEvent,
    Limits,
    MemoryDeliveryLog,
    Outcome,
    handle,
)
from gitloop.triggers.signatures import sign

TESTDATA = Path(__file__).parent / "testdata"
PUSH = (TESTDATA / "github-push.json").read_bytes()
PR = (TESTDATA / "github-pull-request.json").read_bytes()
GITLAB_PUSH = (TESTDATA / "gitlab-push.json").read_bytes()
GITHUB_SECRET = b"It's a Secret to Everybody"
GROUP_SECRET = b"group-secret"
GITLAB_TOKEN = "gitlab-token-123"
SECRET_TEXTS = ("Everybody", "group-secret", GITLAB_TOKEN)


def _set(name: str) -> TriggerSet:
    return load([TESTDATA / name])


GITHUB = _set("listener-github.yaml")
GITLAB = _set("listener-gitlab.yaml")
GROUPS = _set("listener-groups.yaml")


def _ids() -> Ids:
    counter = itertools.count(1)
    return Ids(uuid=lambda: f"uuid-{next(counter)}", suffix=lambda: "x7k2p")


def _github(
    event: str, body: bytes = PUSH, secret: bytes | None = GITHUB_SECRET, delivery: str | None = "d-1"
) -> IncomingEvent:
    headers = {"X-GitHub-Event": event, "Content-Type": "application/json"}
    if secret is not None:
        headers["X-Hub-Signature-256"] = sign(body, secret)
    if delivery is not None:
        headers["X-GitHub-Delivery"] = delivery
    return IncomingEvent.of(headers, body, url="https://ci.example.com/hooks/github")


def _gitlab(
    token: str | None = GITLAB_TOKEN, event: str = "Push Hook", body: bytes = GITLAB_PUSH
) -> IncomingEvent:
    headers = {"X-Gitlab-Event": event, "X-Gitlab-Event-UUID": "uuid-gl-1"}
    if token is not None:
        headers["X-Gitlab-Token"] = token
    return IncomingEvent.of(headers, body)


def _handle(
    event: IncomingEvent,
    triggers: TriggerSet = GITHUB,
    listener: str = "github-listener",
    *,
    secrets: SecretValues | None = None,
    deliveries: MemoryDeliveryLog | None = None,
    limits: Limits | None = None,
) -> Outcome:
    return handle(
        event,
        triggers.listener(listener),
        secrets=triggers.secrets if secrets is None else secrets,
        deliveries=deliveries if deliveries is not None else MemoryDeliveryLog(),
        limits=limits,
        ids=_ids(),
    )


def _mutated(body: bytes, change: Callable[[dict[str, Any]], None]) -> bytes:
    data = json.loads(body)
    change(data)
    return json.dumps(data).encode()


def _deep(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


# name -> (event, listener set, listener name, status, message or None, created names)
CASES: dict[str, tuple[IncomingEvent, TriggerSet, str, int, str | None, list[str]]] = {
    "github push to main": (
        _github("push"),
        GITHUB,
        "github-listener",
        202,
        None,
        ["PipelineRun/build-9b2c7e1-x7k2p"],
    ),
    "github pull request": (
        _github("pull_request", PR),
        GITHUB,
        "github-listener",
        202,
        None,
        ["PipelineRun/test-pr-17-x7k2p"],
    ),
    "wrong signature": (
        _github("push", secret=b"guess"),
        GITHUB,
        "github-listener",
        401,
        "signature or token check failed",
        [],
    ),
    "missing signature": (
        _github("push", secret=None),
        GITHUB,
        "github-listener",
        401,
        "signature or token check failed",
        [],
    ),
    "signature of another body": (
        IncomingEvent.of({"X-GitHub-Event": "push", "X-Hub-Signature-256": sign(PR, GITHUB_SECRET)}, PUSH),
        GITHUB,
        "github-listener",
        401,
        "signature or token check failed",
        [],
    ),
    "unknown event type": (_github("issues"), GITHUB, "github-listener", 200, "no trigger matched", []),
    "ping": (
        _github("ping", b'{"zen": "Keep it logically awesome.", "hook_id": 1}'),
        GITHUB,
        "github-listener",
        200,
        "no trigger matched",
        [],
    ),
    "unknown event type, wrong signature": (
        _github("issues", secret=b"guess"),
        GITHUB,
        "github-listener",
        401,
        "signature or token check failed",
        [],
    ),
    "push to another branch": (
        _github("push", _mutated(PUSH, lambda d: d.update(ref="refs/heads/feature"))),
        GITHUB,
        "github-listener",
        200,
        "no trigger matched",
        [],
    ),
    "pull request without ok-to-test": (
        _github("pull_request", _mutated(PR, lambda d: d["pull_request"].update(labels=[]))),
        GITHUB,
        "github-listener",
        200,
        "no trigger matched",
        [],
    ),
    "10 MB body": (
        _github("push", b'{"pad": "' + b"x" * 10_000_000 + b'"}'),
        GITHUB,
        "github-listener",
        413,
        "payload too large",
        [],
    ),
    "not JSON": (
        _github("push", b"<xml>push</xml>"),
        GITHUB,
        "github-listener",
        400,
        "malformed body: the request body is not JSON",
        [],
    ),
    "form encoded": (
        _github("push", b"payload=%7B%22ref%22%3A1%7D"),
        GITHUB,
        "github-listener",
        400,
        "content type to application/json",
        [],
    ),
    "empty body": (_github("push", b""), GITHUB, "github-listener", 400, "the request body is empty", []),
    "JSON array": (_github("push", b"[1, 2]"), GITHUB, "github-listener", 400, "JSON but not an object", []),
    "NaN": (_github("push", b'{"n": NaN}'), GITHUB, "github-listener", 400, "not JSON", []),
    "not UTF-8": (_github("push", b'{"n": "\xff"}'), GITHUB, "github-listener", 400, "not UTF-8", []),
    "nested too deeply": (
        _github("push", _deep(65)),
        GITHUB,
        "github-listener",
        400,
        "nests deeper than 64",
        [],
    ),
    "nested beyond the parser": (
        _github("push", _deep(100_000)),
        GITHUB,
        "github-listener",
        400,
        "malformed body",
        [],
    ),
    "secret not configured": (
        _github("push"),
        GITHUB,
        "github-listener",
        500,
        "could not check this event",
        [],
    ),
    "gitlab release push": (
        _gitlab(),
        GITLAB,
        "gitlab-listener",
        202,
        None,
        ["PipelineRun/release-1.4-uuid-2"],
    ),
    "gitlab wrong token": (
        _gitlab("gitlab-token-124"),
        GITLAB,
        "gitlab-listener",
        401,
        "signature or token check failed",
        [],
    ),
    "gitlab missing token": (
        _gitlab(None),
        GITLAB,
        "gitlab-listener",
        401,
        "signature or token check failed",
        [],
    ),
    "gitlab tag push": (
        _gitlab(event="Tag Push Hook"),
        GITLAB,
        "gitlab-listener",
        200,
        "no trigger matched",
        [],
    ),
    "gitlab binding fails": (
        _gitlab(body=_mutated(GITLAB_PUSH, lambda d: d.pop("project"))),
        GITLAB,
        "gitlab-listener",
        422,
        "a matching trigger could not process this event",
        [],
    ),
    "group push": (
        IncomingEvent.of({"X-GitHub-Event": "push", "X-Hub-Signature-256": sign(PUSH, GROUP_SECRET)}, PUSH),
        GROUPS,
        "grouped",
        202,
        None,
        ["TaskRun/notify-x7k2p", "TaskRun/notify-x7k2p"],
    ),
    "group push, wrong signature": (
        IncomingEvent.of({"X-GitHub-Event": "push", "X-Hub-Signature-256": sign(PUSH, b"guess")}, PUSH),
        GROUPS,
        "grouped",
        202,
        None,
        ["TaskRun/notify-x7k2p"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_status_codes(case: str) -> None:
    event, triggers, listener, status, message, created = CASES[case]
    secrets = SecretValues() if case == "secret not configured" else None
    outcome = _handle(event, triggers, listener, secrets=secrets)
    assert outcome.status_code == status, [str(r) for r in outcome.results]
    assert outcome.body["eventID"] == "uuid-1"
    if message is not None:
        assert message in outcome.body["message"]
    assert [f"{r['kind']}/{r['metadata']['name']}" for r in outcome.created_resources] == created
    assert [f"{c['kind']}/{c['name']}" for c in outcome.body.get("created", [])] == created
    if status != 202:
        assert outcome.created_resources == ()
    shown = outcome.body_bytes().decode() + repr(outcome) + repr(event) + "".join(map(str, outcome.results))
    for secret in SECRET_TEXTS:
        assert secret not in shown


def test_accepted_push_creates_the_labelled_run() -> None:
    outcome = _handle(_github("push", delivery="72d3162e"))
    assert outcome.status_code == 202
    assert outcome.delivery_id == "72d3162e"
    assert outcome.body == {
        "eventListener": "github-listener",
        "namespace": "ci",
        "eventListenerUID": "0d6c3a52-0f7e-4d63-9d6a-4c1d5d2b7e11",
        "eventID": "uuid-1",
        "created": [
            {
                "apiVersion": "tekton.dev/v1",
                "kind": "PipelineRun",
                "name": "build-9b2c7e1-x7k2p",
                "namespace": "ci",
                "trigger": "push-main",
            }
        ],
    }
    (run,) = outcome.created_resources
    assert run["metadata"]["generateName"] == "build-9b2c7e1-"
    assert run["metadata"]["labels"] == {
        "app": "app-source",
        LISTENER_LABEL: "github-listener",
        TRIGGER_LABEL: "push-main",
        EVENT_ID_LABEL: "uuid-1",
    }
    assert {p["name"]: p["value"] for p in run["spec"]["params"]} == {
        "revision": "9b2c7e1a4f3d5b6c8e0a1b2c3d4e5f60718293a4",
        "url": "https://github.com/example-org/app-source.git",
        "message": 'Say "hello" louder\n\nSigned-off-by: Ada <ada@example.com>',
        "environment": "dev",
        "run-id": "uuid-2",
    }
    assert [(r.trigger, r.status) for r in outcome.results] == [
        ("push-main", "fired"),
        ("pull-request", "filtered"),
    ]


def test_a_replayed_delivery_creates_nothing() -> None:
    deliveries = MemoryDeliveryLog()
    first = _handle(_github("push", delivery="d-42"), deliveries=deliveries)
    again = _handle(_github("push", delivery="d-42"), deliveries=deliveries)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.body["message"] == "duplicate delivery" and again.body["deliveryID"] == "d-42"
    assert again.created_resources == ()
    forged = _handle(_github("push", secret=b"guess", delivery="d-43"), deliveries=deliveries)
    real = _handle(_github("push", delivery="d-43"), deliveries=deliveries)
    assert (forged.status_code, real.status_code) == (401, 202)
    filtered = _handle(_github("issues", delivery="d-44"), deliveries=deliveries)
    assert filtered.status_code == 200 and ("github-listener", "d-44") not in deliveries
    other = _handle(_github("push", delivery="d-45"), deliveries=deliveries)
    assert other.status_code == 202
    anonymous = [_handle(_github("push", delivery=None), deliveries=deliveries) for _ in range(2)]
    assert [o.status_code for o in anonymous] == [202, 202]
    gitlab_log = MemoryDeliveryLog()
    codes = [
        _handle(_gitlab(), GITLAB, "gitlab-listener", deliveries=gitlab_log).status_code for _ in range(2)
    ]
    assert codes == [202, 200]


def test_the_body_limit_is_configurable() -> None:
    assert _handle(_github("push"), limits=Limits(max_body_bytes=len(PUSH))).status_code == 202
    small = _handle(_github("push"), limits=Limits(max_body_bytes=len(PUSH) - 1))
    assert small.status_code == 413
    assert small.body["message"] == f"payload too large: {len(PUSH)} bytes, the limit is {len(PUSH) - 1}"


def test_group_extensions_reach_the_selected_triggers() -> None:
    event = IncomingEvent.of(
        {"X-GitHub-Event": "push", "X-Hub-Signature-256": sign(PUSH, GROUP_SECRET)}, PUSH
    )
    outcome = _handle(event, GROUPS, "grouped")
    texts = sorted(r["spec"]["params"][0]["value"] for r in outcome.created_resources)
    assert texts == [
        "push by ada in example-org/app-source",
        "push of 9b2c7e1a4f3d5b6c8e0a1b2c3d4e5f60718293a4 in example-org/app-source",
    ]
    assert sorted((r.group, r.trigger, r.status) for r in outcome.results) == [
        ("", "audit", "fired"),
        ("github-verified", "on-pull-request", "filtered"),
        ("github-verified", "on-push", "fired"),
    ]
    bad = _handle(IncomingEvent.of({"X-GitHub-Event": "push"}, PUSH), GROUPS, "grouped")
    assert sorted((r.group, r.trigger, r.status) for r in bad.results) == [
        ("", "audit", "fired"),
        ("github-verified", "", "unauthenticated"),
    ]


def test_failed_trigger_reports_why() -> None:
    body = _mutated(GITLAB_PUSH, lambda d: d.pop("project"))
    outcome = _handle(_gitlab(body=body), GITLAB, "gitlab-listener")
    assert outcome.body["errors"] == [
        {
            "trigger": "release-push",
            "error": "failed to replace JSONPath value for param url: $(body.project.git_http_url): "
            "body.project.git_http_url: project is not found",
        }
    ]


GARBAGE: list[tuple[dict[str, str] | list[tuple[str, str]], bytes]] = [
    ({"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + "ab" * 32}, b"{}"),
    ({"X-GitHub-Event": "push", "X-Hub-Signature-256": "\u00e9\u00e9"}, b'{"ref": null}'),
    ({"bad header name": "x", "X-GitHub-Event": "pull_request"}, b'{"action": 1}'),
    ([("X-GitHub-Event", "push"), ("X-GitHub-Event", "pull_request")], b'{"a": {"b": [1, {"c": null}]}}'),
    ({}, b"\x00\x01\x02"),
    ({"X-Gitlab-Token": GITLAB_TOKEN}, b"{" * 10),
]


@pytest.mark.parametrize(("headers", "body"), GARBAGE)
def test_garbage_is_answered_not_raised(headers: dict[str, str] | list[tuple[str, str]], body: bytes) -> None:
    for triggers, name in ((GITHUB, "github-listener"), (GITLAB, "gitlab-listener"), (GROUPS, "grouped")):
        outcome = _handle(IncomingEvent.of(headers, body), triggers, name)
        assert outcome.status_code in (200, 400, 401, 422)
        assert outcome.created_resources == ()


def test_an_empty_listener_matches_nothing() -> None:
    outcome = handle(
        IncomingEvent.of({}, b"{}"),
        ResolvedListener("idle"),
        secrets=SecretValues(),
        deliveries=MemoryDeliveryLog(),
    )
    assert (outcome.status_code, outcome.body["message"]) == (200, "no trigger matched")
    assert len(outcome.event_id) == 36


def test_delivery_log_is_bounded() -> None:
    log = MemoryDeliveryLog(capacity=2)
    assert [log.claim("el", d) for d in ("a", "b", "a", "c", "a")] == [True, True, False, True, True]
    assert len(log) == 2
    log.release("el", "a")
    assert log.claim("el", "a")


def test_the_outcome_carries_the_payload_it_parsed_once() -> None:
    accepted = _handle(_github("push"))
    assert accepted.status_code == 202
    assert accepted.payload == json.loads(PUSH)
    assert _handle(_github("push", body=b"payload=x")).payload is None  # 400: not a JSON object
    assert "payload" not in repr(accepted)  # a payload is never logged with the outcome
