"""Push webhooks of GitHub, GitLab and Gitea (and Gogs), as Argo CD's ``/api/webhook`` reads them.

``read_push`` checks one request — size, provider, signature, event type, JSON — and returns the
``Push`` it announces or a ``Refusal`` with the status code to answer. ``matching_apps`` applies Argo
CD's rule for which Applications a push refreshes (:mod:`gitloop.gitops.pushes`: the pushed branch or
tag, or ``HEAD``/empty for the default branch) with the git adapter's rule for which repository URLs
name the pushed repository (normalised: scheme, user, ``.git``, case). ``source_push`` reads the
source commit of a push event (any provider's shape) for the lineage, with its message and author.

With a secret configured, a request must carry a valid signature: ``X-Hub-Signature-256`` (GitHub,
Gitea), ``X-Gitea-Signature`` / ``X-Gogs-Signature`` (hex HMAC-SHA256), or ``X-Gitlab-Token`` (the
secret itself), all checked by :mod:`gitloop.triggers.signatures`, as the Tekton interceptors are.
Without a secret, unsigned pushes are accepted, as in Argo CD.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from gitloop.git.urls import matches_web_url, same_repo_url
from gitloop.gitops import pushes
from gitloop.lineage import SourcePush, parse_time
from gitloop.service.server.engines import Push
from gitloop.triggers import Headers, PayloadError, parse_payload
from gitloop.triggers.signatures import hex_hmac_matches, hmac_problem, token_matches

MAX_JSON_DEPTH = 64
PUSH_EVENTS = {
    "github": ("push",),
    "gitea": ("push",),
    "gogs": ("push",),
    "gitlab": ("Push Hook", "Tag Push Hook"),
}
PING_EVENTS = {"github": "ping", "gitea": "ping", "gogs": "ping"}
_EVENT_HEADERS = (
    ("gitea", "X-Gitea-Event"),
    ("gogs", "X-Gogs-Event"),
    ("gitlab", "X-Gitlab-Event"),
    ("github", "X-Github-Event"),
)


@dataclass(frozen=True)
class Refusal:
    """A request that refreshes nothing, and what to answer."""

    status: int
    message: str


def provider_of(headers: Headers) -> tuple[str, str]:
    """``(provider, event type)`` from the event headers; ``("", "")`` for none of them."""
    for provider, header in _EVENT_HEADERS:
        value = headers.first(header)
        if value:
            return provider, value
    return "", ""


def verify(provider: str, headers: Headers, body: bytes, secret: bytes) -> bool:
    """Whether the request is signed (or carries the token) with ``secret``."""
    if provider == "gitlab":
        return token_matches(headers.first("X-Gitlab-Token"), secret)
    if hmac_problem(headers.first("X-Hub-Signature-256"), body, secret) is None:
        return True
    if provider in ("gitea", "gogs"):
        own = headers.first("X-Gitea-Signature" if provider == "gitea" else "X-Gogs-Signature")
        return hex_hmac_matches(own, body, secret)
    return False


def _text(data: Any, *path: str) -> str:
    for key in path:
        if not isinstance(data, Mapping):
            return ""
        data = data.get(key)
    return data if isinstance(data, str) else ""


def _head(body: Mapping[str, Any], after: str) -> Mapping[str, Any]:
    head = body.get("head_commit")
    if isinstance(head, Mapping):
        return head
    commits = body.get("commits")
    if isinstance(commits, list):
        for commit in reversed(commits):
            if isinstance(commit, Mapping) and commit.get("id") == after:
                return commit
    return {}


def push_of(provider: str, body: Mapping[str, Any]) -> Push | None:
    """The push in a payload of ``provider``; ``None`` when it lacks the repository or the ref."""
    ref = _text(body, "ref")
    after = _text(body, "checkout_sha") or _text(body, "after")
    if provider == "gitlab":
        project = body.get("project") if isinstance(body.get("project"), Mapping) else {}
        repository = body.get("repository") if isinstance(body.get("repository"), Mapping) else {}
        web = _text(project, "web_url") or _text(repository, "homepage")
        urls = [
            _text(project, "git_http_url"),
            _text(project, "git_ssh_url"),
            _text(repository, "git_http_url"),
            _text(repository, "git_ssh_url"),
        ]
        default = _text(project, "default_branch")
    else:
        repository = body.get("repository") if isinstance(body.get("repository"), Mapping) else {}
        web = _text(repository, "html_url")
        urls = [_text(repository, k) for k in ("clone_url", "ssh_url", "git_url", "url")]
        default = _text(repository, "default_branch")
    repo_urls = tuple(dict.fromkeys(u for u in (web, *urls) if u))
    if not ref or not repo_urls:
        return None
    head = _head(body, after)
    return Push(
        provider=provider,
        repo_urls=repo_urls,
        web_url=web,
        ref=ref,
        after=after,
        default_branch=default,
        head_message=_text(head, "message"),
        head_time=parse_time(head.get("timestamp")),
        deleted=body.get("deleted") is True or (bool(after) and set(after) == {"0"}),
    )


def read_push(
    headers: Headers, body: bytes, *, secret: bytes | None, max_bytes: int
) -> tuple[Push | None, Refusal | None]:
    """The push of one ``/api/webhook`` request, or why there is none (with the status to answer)."""
    if len(body) > max_bytes:
        return None, Refusal(413, f"payload too large: {len(body)} bytes, the limit is {max_bytes}")
    provider, event = provider_of(headers)
    if not provider:
        return None, Refusal(
            400, "not a webhook gitloop knows: expected X-GitHub-Event, X-Gitlab-Event or X-Gitea-Event"
        )
    if secret is not None and not verify(provider, headers, body, secret):
        return None, Refusal(401, f"{provider} webhook signature or token check failed")
    if event == PING_EVENTS.get(provider):
        return None, Refusal(200, "pong")
    if event not in PUSH_EVENTS[provider]:
        return None, Refusal(200, f"ignored {provider} event {event!r}: only pushes refresh Applications")
    try:
        payload = parse_payload(body, MAX_JSON_DEPTH)
    except PayloadError as exc:
        return None, Refusal(400, f"malformed body: {exc}")
    push = push_of(provider, payload)
    if push is None:
        return None, Refusal(400, "malformed push event: no ref or repository URL")
    return push, None


def names_repo(push: Push, repo_url: str) -> bool:
    """Whether ``repo_url`` (an Application source) is the pushed repository."""
    if push.web_url and matches_web_url(push.web_url, repo_url):
        return True
    return any(same_repo_url(url, repo_url) for url in push.repo_urls)


def matching_apps(push: Push, sources: Mapping[str, Iterable[tuple[str, str]]]) -> list[str]:
    """Names of the Applications (``name -> [(repoURL, targetRevision)]``) this push refreshes: Argo
    CD's rule (:func:`gitloop.gitops.pushes.matching_apps`) with :func:`names_repo`."""
    return pushes.matching_apps(push, sources, partial(names_repo, push))


def source_push(body: Mapping[str, Any]) -> SourcePush | None:
    """The source commit a push event (GitHub, Gitea, GitLab shapes) announces, for the lineage."""
    after = _text(body, "checkout_sha") or _text(body, "after")
    head = _head(body, after)
    commit = after or _text(head, "id")
    if not commit or set(commit) == {"0"}:
        return None
    repo = (
        _text(body, "repository", "clone_url")
        or _text(body, "project", "git_http_url")
        or _text(body, "repository", "html_url")
        or _text(body, "project", "web_url")
    )
    return SourcePush.of(
        commit.lower(),
        repo,
        _text(body, "ref"),
        parse_time(head.get("timestamp")),
        message=head.get("message"),
        author_name=_text(head, "author", "name"),
        author_email=_text(head, "author", "email"),
    )
