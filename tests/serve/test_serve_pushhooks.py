"""Push webhooks of GitHub, GitLab and Gitea as ``/api/webhook`` reads them, and Argo CD's rule for which
Applications a push refreshes."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from serve_fakes import github_push, sign

from gitloop.gitops.pushes import touches
from gitloop.service.server import Push
from gitloop.service.server.pushhooks import matching_apps, push_of, read_push, source_push
from gitloop.triggers import Headers

SECRET = b"s3cret"


def _push(ref: str = "refs/heads/main", default: str = "main") -> Push:
    return Push(
        "github",
        ("https://git.example.com/team/cfg",),
        "https://git.example.com/team/cfg",
        ref,
        "1" * 40,
        default,
    )


@pytest.mark.parametrize(
    ("ref", "target", "expected"),
    [
        ("refs/heads/main", "main", True),
        ("refs/heads/main", "refs/heads/main", True),
        ("refs/heads/main", "HEAD", True),
        ("refs/heads/main", "", True),
        ("refs/heads/feature", "HEAD", False),
        ("refs/heads/feature", "main", False),
        ("refs/heads/release/1.x", "release/1.x", True),
        ("refs/tags/v1", "v1", True),
        ("refs/tags/v1", "HEAD", False),
        ("refs/heads/main", "0123456789abcdef0123456789abcdef01234567", False),
    ],
)
def test_which_target_revisions_a_push_touches(ref: str, target: str, expected: bool) -> None:
    assert touches(_push(ref), target) is expected


def test_head_follows_any_branch_when_the_default_branch_is_unknown() -> None:
    assert touches(_push("refs/heads/trunk", default=""), "HEAD")


def test_repository_urls_match_normalised() -> None:
    sources = {
        "https": [("https://git.example.com/team/cfg.git", "main")],
        "case": [("HTTPS://Git.Example.com/Team/CFG/", "main")],
        "ssh": [("git@git.example.com:team/cfg.git", "main")],
        "ssh-url": [("ssh://git@git.example.com:22/team/cfg", "HEAD")],
        "other-repo": [("https://git.example.com/team/cfg-2.git", "main")],
        "other-host": [("https://example.org/team/cfg.git", "main")],
        "other-branch": [("https://git.example.com/team/cfg.git", "dev")],
        "multi": [("https://x/y.git", "main"), ("https://git.example.com/team/cfg", "main")],
    }
    assert matching_apps(_push(), sources) == ["case", "https", "multi", "ssh", "ssh-url"]


def test_github_gitea_and_gitlab_payloads() -> None:
    github = push_of("github", json.loads(github_push(repo="http://h/team/cfg")))
    assert github is not None
    assert (github.web_url, github.ref, github.default_branch) == (
        "http://h/team/cfg",
        "refs/heads/main",
        "main",
    )
    assert github.repo_urls == ("http://h/team/cfg", "http://h/team/cfg.git")
    assert github.head_message == "change" and github.head_time is not None
    gitlab = push_of(
        "gitlab",
        {
            "ref": "refs/heads/main",
            "checkout_sha": "b" * 40,
            "project": {
                "web_url": "https://gl/team/cfg",
                "git_http_url": "https://gl/team/cfg.git",
                "git_ssh_url": "git@gl:team/cfg.git",
                "default_branch": "main",
            },
            "commits": [{"id": "b" * 40, "message": "m", "timestamp": "2026-01-01T00:00:00+00:00"}],
        },
    )
    assert gitlab is not None
    assert gitlab.repo_urls == ("https://gl/team/cfg", "https://gl/team/cfg.git", "git@gl:team/cfg.git")
    assert (gitlab.after, gitlab.head_message) == ("b" * 40, "m")
    assert push_of("github", {"ref": "refs/heads/main"}) is None


def _read(headers: dict[str, str], body: bytes, secret: bytes | None = SECRET) -> tuple[Push | None, int]:
    push, refusal = read_push(Headers(headers), body, secret=secret, max_bytes=1 << 20)
    return push, 200 if refusal is None else refusal.status


def test_signatures_of_each_provider() -> None:
    body = github_push()
    hub = sign(body, SECRET.decode())
    gitea_hex = hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    assert _read({"X-GitHub-Event": "push", "X-Hub-Signature-256": hub}, body)[0] is not None
    assert _read({"X-Gitea-Event": "push", "X-Gitea-Signature": gitea_hex}, body)[0] is not None
    assert _read({"X-Gitea-Event": "push", "X-Hub-Signature-256": hub}, body)[0] is not None
    assert _read({"X-Gogs-Event": "push", "X-Gogs-Signature": gitea_hex}, body)[0] is not None
    gitlab = json.dumps({"ref": "refs/heads/main", "project": {"web_url": "https://gl/t/c"}}).encode()
    assert _read({"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "s3cret"}, gitlab)[0] is not None
    assert _read({"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "nope"}, gitlab)[1] == 401
    assert _read({"X-Gitea-Event": "push", "X-Gitea-Signature": "zz"}, body)[1] == 401
    assert (
        _read({"X-GitHub-Event": "push", "X-Hub-Signature-256": hub.replace("sha256=", "sha1=")}, body)[1]
        == 401
    )
    assert _read({"X-GitHub-Event": "push"}, body)[1] == 401
    assert _read({"X-GitHub-Event": "push"}, body, secret=None)[0] is not None  # no secret: accepted


def test_refusals() -> None:
    body = github_push()
    assert _read({"X-GitHub-Event": "push"}, b"x" * ((1 << 20) + 1), None)[1] == 413
    assert _read({}, body, None)[1] == 400
    assert _read({"X-GitHub-Event": "push"}, b"{", None)[1] == 400
    assert _read({"X-GitHub-Event": "push"}, b'{"ref": "x"}', None)[1] == 400
    push, refusal = read_push(Headers({"X-GitHub-Event": "ping"}), body, secret=None, max_bytes=1 << 20)
    assert push is None and refusal is not None and (refusal.status, refusal.message) == (200, "pong")


def test_the_source_commit_of_a_push_event() -> None:
    found = source_push(json.loads(github_push(after="A" * 40)))
    assert found is not None and found.commit == "a" * 40 and found.ref == "refs/heads/main"
    assert found.repo == "http://git.example.com/team/app-source.git" and found.committed_at is not None
    assert source_push({"after": "0" * 40, "ref": "refs/heads/x"}) is None  # a deleted branch
    assert source_push({"ref": "refs/heads/x"}) is None
