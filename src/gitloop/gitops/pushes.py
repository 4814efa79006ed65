"""Argo CD's webhook rule (CD domain): which Applications a push refreshes.

An Application is refreshed when one of its sources names the pushed repository and tracks the pushed
ref: its target revision is the pushed branch or tag (``refs/heads/`` / ``refs/tags/`` prefixes
ignored, as Argo CD's ``ParseRevision``), or ``HEAD``/empty when the push moved the default branch
(any branch when the payload does not say which is the default).

Whether a source's repository URL names the pushed repository (URL normalisation) is the git
adapter's rule; the composition layer passes it in (:mod:`gitloop.service.server.pushhooks`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

__all__ = ["PushedRef", "matching_apps", "ref_name", "touches"]


class PushedRef(Protocol):
    """What the rule reads of a push."""

    @property
    def ref(self) -> str:
        """``refs/heads/main``, ``refs/tags/v1``."""
        ...

    @property
    def default_branch(self) -> str:
        """The repository's default branch, ``""`` when the payload does not say."""
        ...


def ref_name(revision: str) -> str:
    """``refs/heads/x`` / ``refs/tags/x`` -> ``x`` (Argo CD's ``ParseRevision``)."""
    for prefix in ("refs/heads/", "refs/tags/"):
        if revision.startswith(prefix):
            return revision[len(prefix) :]
    return revision


def touches(push: PushedRef, target_revision: str) -> bool:
    """Whether a source tracking ``target_revision`` sees the pushed ref move."""
    target = ref_name(target_revision.strip())
    pushed = ref_name(push.ref)
    if target in ("", "HEAD"):
        if not push.ref.startswith("refs/heads/"):
            return False
        return not push.default_branch or pushed == push.default_branch
    return target == pushed


def matching_apps(
    push: PushedRef, sources: Mapping[str, Iterable[tuple[str, str]]], names_repo: Callable[[str], bool]
) -> list[str]:
    """Names of the Applications (``name -> [(repoURL, targetRevision)]``) this push refreshes;
    ``names_repo(repoURL)`` says whether a source's URL is the pushed repository."""
    return sorted(
        name
        for name, pairs in sources.items()
        if any(names_repo(url) and touches(push, revision) for url, revision in pairs)
    )
