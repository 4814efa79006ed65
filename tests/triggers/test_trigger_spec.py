"""Triggers YAML: every file in testdata/ loads, or fails at the line its row names; and the parsed shapes."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitloop.errors import SpecError
from gitloop.spec.triggers import (
    BindingRef,
    CelInterceptor,
    ProviderInterceptor,
    SecretRef,
    SecretValues,
    TriggerSet,
    load,
    parse_text,
)
from gitloop.triggers import check_listener

TESTDATA = Path(__file__).parent / "testdata"

# file -> listener -> (trigger names, {group: trigger names})
VALID: dict[str, dict[str, tuple[list[str], dict[str, list[str]]]]] = {
    "listener-github.yaml": {"github-listener": (["push-main", "pull-request"], {})},
    "listener-gitlab.yaml": {"gitlab-listener": (["release-push"], {})},
    "listener-groups.yaml": {"grouped": (["audit"], {"github-verified": ["on-push", "on-pull-request"]})},
}

# file -> (line, object, field, words the message must contain)
INVALID: dict[str, tuple[int, str, str, str]] = {
    "invalid-cel-syntax.yaml": (
        12,
        "EventListener/broken-cel",
        "spec.triggers[0].interceptors[0].params[0].value",
        "invalid CEL expression",
    ),
    "invalid-changed-files.yaml": (
        10,
        "Trigger/changed",
        "spec.interceptors[0].params[0].value",
        "addChangedFiles calls the GitHub API",
    ),
    "invalid-duplicate-param.yaml": (
        19,
        "EventListener/twice",
        "spec.triggers[0].bindings[1].value",
        "duplicate param name 'revision'",
    ),
    "invalid-inline-in-v1beta1.yaml": (
        7,
        "Trigger/old-style",
        "spec.interceptors[0].github",
        "the inline form is v1alpha1",
    ),
    "invalid-interceptor-param.yaml": (
        11,
        "Trigger/typo",
        "spec.interceptors[0].params[1].name",
        "unknown param 'eventType' of the gitlab interceptor",
    ),
    "invalid-missing-secret.yaml": (
        12,
        "EventListener/no-secret",
        "spec.triggers[0].interceptors[0].params[0].value",
        "Secret/missing-secret key 'token' is not available",
    ),
    "invalid-no-name.yaml": (
        9,
        "TriggerTemplate/anonymous",
        "spec.resourcetemplates[0].metadata.name",
        "name or generateName",
    ),
    "invalid-no-triggers.yaml": (
        5,
        "EventListener/empty",
        "spec",
        "expected at least one of triggers, triggerGroups",
    ),
    "invalid-ref-and-template.yaml": (
        7,
        "EventListener/both",
        "spec.triggers[0]",
        "expected exactly one, got both: triggerRef, template",
    ),
    "invalid-template-not-found.yaml": (
        11,
        "EventListener/dangling",
        "spec.triggers[0].template.ref",
        "no TriggerTemplate named 'no-such-template'",
    ),
    "invalid-unbound-param.yaml": (
        7,
        "EventListener/unbound",
        "spec.triggers[0]",
        "param 'url' has no default and no binding",
    ),
    "invalid-undeclared-param.yaml": (
        9,
        "TriggerTemplate/sloppy",
        "spec.resourcetemplates[0]",
        "undeclared param '$(tt.params.url)'",
    ),
    "invalid-unknown-interceptor.yaml": (
        9,
        "EventListener/slack",
        "spec.triggers[0].interceptors[0].ref",
        "unknown interceptor ClusterInterceptor/slack",
    ),
    "invalid-unterminated.yaml": (
        8,
        "TriggerBinding/open",
        "spec.params[0].value",
        "a $( is not closed",
    ),
}


def _load_and_check(path: Path) -> TriggerSet:
    triggers = load([path])
    for name in triggers.listeners:
        check_listener(triggers.listener(name), triggers.secrets)
    return triggers


def test_every_testdata_file_is_in_a_table() -> None:
    assert {p.name for p in TESTDATA.glob("*.yaml")} == set(VALID) | set(INVALID)


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid(name: str) -> None:
    triggers = _load_and_check(TESTDATA / name)
    for listener_name, (trigger_names, groups) in VALID[name].items():
        listener = triggers.listener(listener_name)
        assert [t.name for t in listener.triggers] == trigger_names
        assert {g.name: [t.name for t in g.triggers] for g in listener.groups} == groups


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid(name: str) -> None:
    line, obj, field, words = INVALID[name]
    with pytest.raises(SpecError) as caught:
        _load_and_check(TESTDATA / name)
    assert caught.value.file == f"{TESTDATA / name}:{line}"
    assert (caught.value.obj, caught.value.field) == (obj, field)
    assert words in str(caught.value)


def test_github_listener_shapes() -> None:
    triggers = load([TESTDATA / "listener-github.yaml"])
    listener = triggers.listener("github-listener")
    assert (listener.namespace, listener.uid) == ("ci", "0d6c3a52-0f7e-4d63-9d6a-4c1d5d2b7e11")
    push = listener.triggers[0]
    github, cel = push.interceptors
    assert github == ProviderInterceptor(
        "github", "verify-github", SecretRef("github-secret", "token"), ("push",)
    )
    assert isinstance(cel, CelInterceptor)
    assert [(o.key, o.expression) for o in cel.overlays] == [
        ("short_sha", "body.after.truncate(7)"),
        ("branch", "body.ref.split('/')[2]"),
    ]
    assert [p.name for p in push.params] == ["revision", "url", "message", "short-sha", "environment"]
    assert push.template.referenced == {"revision", "url", "message", "short-sha", "environment"}
    assert push.template.param("environment") is not None
    spec = triggers.listeners["github-listener"].triggers[0].spec
    assert spec is not None and spec.bindings[0] == BindingRef("git-push")


def test_v1alpha1_inline_interceptors_read_as_the_ref_form() -> None:
    listener = load([TESTDATA / "listener-gitlab.yaml"]).listener("gitlab-listener")
    gitlab, cel = listener.triggers[0].interceptors
    assert gitlab == ProviderInterceptor("gitlab", "", SecretRef("gitlab-secret", "token"), ("Push Hook",))
    assert isinstance(cel, CelInterceptor) and cel.filter == "body.ref.startsWith('refs/heads/release/')"


def test_secret_values_come_from_secret_documents_and_never_show() -> None:
    triggers = load([TESTDATA / "listener-github.yaml", TESTDATA / "listener-gitlab.yaml"])
    assert triggers.secrets.get("github-secret", "token") == b"It's a Secret to Everybody"
    assert triggers.secrets.get("gitlab-secret", "token") == b"gitlab-token-123"
    assert triggers.secrets.get("gitlab-secret", "other") is None
    for shown in (repr(triggers), str(triggers.secrets), repr(triggers.listener("github-listener"))):
        assert "Everybody" not in shown and "gitlab-token-123" not in shown
    assert repr(SecretValues({"s": {"k": "v"}})) == "SecretValues(names=['s'])"


EVENT_LISTENER = """
apiVersion: triggers.tekton.dev/v1beta1
kind: EventListener
metadata: {name: el}
spec:
  triggers:
    - name: t
      template: {spec: {resourcetemplates: [{apiVersion: v1, kind: ConfigMap, metadata: {name: x}}]}}
"""

# (document, words of the error)
TEXT_ERRORS: list[tuple[str, str]] = [
    (EVENT_LISTENER.replace("name: t\n", "name: Bad Name\n"), "not a valid label value"),
    (EVENT_LISTENER.replace("{name: el}", "{name: " + "e" * 61 + "}"), "no more than 60 characters"),
    (EVENT_LISTENER.replace("v1beta1", "v2"), "unsupported apiVersion"),
    (EVENT_LISTENER.replace("kind: EventListener", "kind: Pipeline"), "unsupported kind 'Pipeline'"),
    (EVENT_LISTENER.replace("template:", "bogus: 1\n      template:"), "unknown field 'bogus'"),
    (EVENT_LISTENER.replace("{spec: {", "{name: x, spec: {"), "referenced with ref, not name"),
    (EVENT_LISTENER + "---" + EVENT_LISTENER, "EventListener 'el' is defined twice"),
    (
        EVENT_LISTENER.replace(
            "      template:",
            "      interceptors: [{webhook: {objectRef: {kind: Service}}}]\n      template:",
        ),
        "webhook, namespaced and custom interceptors are not supported",
    ),
    (
        EVENT_LISTENER.replace("      template:", "      bindings: [{ref: b, kind: Other}]\n      template:"),
        "must be one of 'TriggerBinding', 'ClusterTriggerBinding'",
    ),
    (
        EVENT_LISTENER.replace("      template:", "      bindings: [{name: only}]\n      template:"),
        "required field is missing",
    ),
]


@pytest.mark.parametrize(("text", "words"), TEXT_ERRORS)
def test_text_errors(text: str, words: str) -> None:
    with pytest.raises(SpecError, match=None) as caught:
        parse_text(text, "el.yaml").resolve_all()
    assert words in str(caught.value)


def test_other_kinds_can_be_skipped() -> None:
    text = EVENT_LISTENER + "---\napiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata: {name: p}\nspec: {}\n"
    assert list(parse_text(text, other_kinds="skip").listeners) == ["el"]
