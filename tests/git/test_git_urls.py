"""Repository URL normalisation and matching, as Argo CD compares repository URLs."""

from __future__ import annotations

import re

import pytest

from gitloop.git.urls import (
    is_ssh_url,
    matches_web_url,
    mirror_dir_name,
    normalize_git_url,
    redact_url,
    redact_urls_in,
    same_repo_url,
    split_userinfo,
    web_url_pattern,
)

NORMAL = [
    # https: case, .git, trailing slash, default port, user information
    ("https://github.com/argoproj/argo-cd", "https://github.com/argoproj/argo-cd"),
    ("https://github.com/argoproj/argo-cd.git", "https://github.com/argoproj/argo-cd"),
    ("https://GitHub.com/ArgoProj/Argo-CD.git", "https://github.com/argoproj/argo-cd"),
    ("https://github.com/argoproj/argo-cd/", "https://github.com/argoproj/argo-cd"),
    ("https://github.com/argoproj/argo-cd.git/", "https://github.com/argoproj/argo-cd"),
    ("  https://github.com/argoproj/argo-cd \n", "https://github.com/argoproj/argo-cd"),
    ("https://github.com:443/argoproj/argo-cd", "https://github.com/argoproj/argo-cd"),
    ("https://github.com:8443/argoproj/argo-cd", "https://github.com:8443/argoproj/argo-cd"),
    ("https://user:s3cret@github.com/argoproj/argo-cd", "https://github.com/argoproj/argo-cd"),
    ("https://token@github.com/argoproj/argo-cd", "https://github.com/argoproj/argo-cd"),
    ("http://127.0.0.1:8080/app.git", "http://127.0.0.1:8080/app"),
    ("http://example.com:80/app", "http://example.com/app"),
    ("https://[::1]:8443/team/app.git", "https://[::1]:8443/team/app"),
    # ssh: scp-like and ssh:// are the same repository; the user stays, port 22 goes
    ("git@github.com:argoproj/argo-cd.git", "git@github.com/argoproj/argo-cd"),
    ("git@GITHUB.com:argoproj/argo-cd", "git@github.com/argoproj/argo-cd"),
    ("ssh://git@github.com/argoproj/argo-cd.git", "git@github.com/argoproj/argo-cd"),
    ("ssh://git@github.com:22/argoproj/argo-cd", "git@github.com/argoproj/argo-cd"),
    ("ssh://git@example.com:2222/team/app.git", "git@example.com:2222/team/app"),
    ("git@example.com:team/app.git/", "git@example.com/team/app"),
    # other schemes are kept, lower-cased, without .git
    ("file:///srv/Repos/App.git", "file:///srv/repos/app"),
    # not URLs
    ("", ""),
    ("   ", ""),
    ("https://example.com:99999/app", ""),
]


@pytest.mark.parametrize(("url", "normal"), NORMAL)
def test_normalize_git_url(url: str, normal: str) -> None:
    assert normalize_git_url(url) == normal


SAME = [
    ("https://github.com/org/repo", "https://github.com/org/repo.git", True),
    ("https://github.com/org/repo", "https://GITHUB.COM/ORG/REPO/", True),
    ("git@github.com:org/repo.git", "ssh://git@github.com/org/repo", True),
    ("ssh://git@github.com:22/org/repo", "git@github.com:org/repo", True),
    ("https://alice:pw@github.com/org/repo", "https://github.com/org/repo", True),
    # as in Argo CD: HTTPS and SSH are different repositories (they need different credentials)
    ("https://github.com/org/repo", "git@github.com:org/repo", False),
    ("https://github.com/org/repo", "http://github.com/org/repo", False),
    ("git@github.com:org/repo", "deploy@github.com:org/repo", False),
    ("https://github.com/org/repo", "https://github.com/org/repo2", False),
    ("https://github.com/org/repo", "https://github.com/org/repo/sub", False),
    ("ssh://git@example.com:2222/app", "git@example.com:app", False),
    ("", "", False),
]


@pytest.mark.parametrize(("left", "right", "same"), SAME)
def test_same_repo_url(left: str, right: str, same: bool) -> None:
    assert same_repo_url(left, right) is same
    assert same_repo_url(right, left) is same


@pytest.mark.parametrize(
    ("url", "ssh"),
    [
        ("git@github.com:org/repo", True),
        ("ssh://git@github.com/org/repo", True),
        ("https://user@github.com/org/repo", False),
        ("https://github.com/org/repo", False),
        ("/srv/repo.git", False),
    ],
)
def test_is_ssh_url(url: str, ssh: bool) -> None:
    assert is_ssh_url(url) is ssh


@pytest.mark.parametrize(
    ("url", "clean", "user", "password"),
    [
        ("https://host/org/repo.git", "https://host/org/repo.git", None, None),
        ("https://alice:s3cret@host/org/repo.git", "https://host/org/repo.git", "alice", "s3cret"),
        ("https://al%40ice:p%20w%2F@host:8443/r", "https://host:8443/r", "al@ice", "p w/"),
        ("https://ghp_token@host/r", "https://host/r", "ghp_token", None),
        ("http://a:b@127.0.0.1:1234/x.git", "http://127.0.0.1:1234/x.git", "a", "b"),
        ("git@github.com:org/repo", "git@github.com:org/repo", None, None),
        ("ssh://git@github.com/org/repo", "ssh://git@github.com/org/repo", None, None),
    ],
)
def test_split_userinfo(url: str, clean: str, user: str | None, password: str | None) -> None:
    assert split_userinfo(url) == (clean, user, password)
    assert redact_url(url) == clean


def test_redact_urls_in_free_text() -> None:
    text = "fatal: unable to access 'https://alice:s3cret@host/r.git/': 403; see HTTP://tok@h/x"
    assert (
        redact_urls_in(text) == "fatal: unable to access 'https://***@host/r.git/': 403; see HTTP://***@h/x"
    )
    assert redact_urls_in("ssh://git@host/r") == "ssh://git@host/r"


def test_mirror_dir_name_is_shared_by_spellings_and_safe() -> None:
    spellings = [
        "https://GitHub.com/Org/Repo.git",
        "https://github.com/org/repo/",
        "https://user:pw@github.com:443/org/repo",
    ]
    names = {mirror_dir_name(u) for u in spellings}
    assert len(names) == 1
    (name,) = names
    assert re.fullmatch(r"github\.com_org_repo-[0-9a-f]{12}", name)
    assert mirror_dir_name("git@github.com:org/repo") != name  # SSH is another mirror
    assert mirror_dir_name("https://github.com/org/repo2") != name
    weird = mirror_dir_name("https://h/../../etc/passwd;rm -rf ~")
    assert "/" not in weird and ".." not in weird.split("_")[0] and " " not in weird
    assert not weird.startswith(".")


WEB = "https://github.com/org/repo"
WEB_MATCHES = [
    ("https://github.com/org/repo", True),
    ("https://github.com/org/repo.git", True),
    ("https://github.com/org/repo/", True),
    ("http://github.com/org/repo", True),
    ("HTTPS://GitHub.com/Org/Repo", True),
    ("https://user@github.com/org/repo.git", True),
    ("git@github.com:org/repo.git", True),
    ("ssh://git@github.com/org/repo", True),
    ("ssh://git@ssh.github.com:443/org/repo.git", True),
    ("ssh://git@altssh.github.com:443/org/repo.git", True),
    ("https://github.com:8443/org/repo", True),
    ("https://github.com/org/repo2", False),
    ("https://github.com/org/rep", False),
    ("https://github.com/org/repo/sub", False),
    ("https://gitlab.com/org/repo", False),
    ("https://evilgithub.com/org/repo", False),
    ("https://github.com.evil.com/org/repo", False),
    ("https://github.com/other/org/repo", False),
]


@pytest.mark.parametrize(("repo_url", "matches"), WEB_MATCHES)
def test_web_url_matching(repo_url: str, matches: bool) -> None:
    assert matches_web_url(WEB, repo_url) is matches


def test_web_url_pattern_escapes_and_tolerates_junk() -> None:
    pattern = web_url_pattern("https://git.example.com/team/app.v2.git")
    assert pattern.match("git@git.example.com:team/app.v2.git")
    assert not pattern.match("git@gitxexample.com:team/app.v2")
    assert not pattern.match("git@git.example.com:team/appxv2")
    nothing = web_url_pattern("not a url")
    assert not nothing.match("not a url") and not nothing.match("")
