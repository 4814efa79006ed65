"""The git adapter: the ``GitRepo`` port on bare mirrors kept with the ``git`` CLI, repository URL
matching as Argo CD does it, and repository credentials that never leak.

Layer 2 (adapters): imports only :mod:`gitloop.ports`, :mod:`gitloop.model`, :mod:`gitloop.errors`
and the standard library.
"""

from __future__ import annotations

from gitloop.git.command import GitAuthError
from gitloop.git.credentials import (
    Credentials,
    HttpsCredentials,
    RepoCredentials,
    RepoCreds,
    Scrubber,
    SshCredentials,
    credentials_from_store,
)
from gitloop.git.mirror import GitMirror, MirrorCache
from gitloop.git.remote import RemoteRefs, ls_remote
from gitloop.git.urls import (
    matches_web_url,
    normalize_git_url,
    redact_url,
    same_repo_url,
    web_url_pattern,
)

__all__ = [
    "Credentials",
    "GitAuthError",
    "GitMirror",
    "HttpsCredentials",
    "MirrorCache",
    "RemoteRefs",
    "RepoCredentials",
    "RepoCreds",
    "Scrubber",
    "SshCredentials",
    "credentials_from_store",
    "ls_remote",
    "matches_web_url",
    "normalize_git_url",
    "redact_url",
    "same_repo_url",
    "web_url_pattern",
]
