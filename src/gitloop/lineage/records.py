"""The lineage's records in the store and the facts read from a run: their kinds, names and parsers.

Every hop is appended to the store's history of ``lineage/<source commit>`` (:func:`owner`). Records
of kind ``LineageSource`` index the source commits (with the commit's message and author, bounded plain
text, when a push carried them; older records have neither), ``LineageRun`` maps a PipelineRun to its source
commit (and, for a post-sync pipeline, its Application) and ``LineageDeploy`` (``<app>@<revision>``)
a deployed config commit to its source commit. A :class:`RunSource` is that link as a run carries
it from its launch to its end, so its hops are recorded without looking it up again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

OWNER_PREFIX = "lineage/"
SOURCE_KIND = "LineageSource"
RUN_KIND = "LineageRun"
DEPLOY_KIND = "LineageDeploy"
PIPELINE_RUN_KIND = "PipelineRun"
MIN_PREFIX = 4
IMAGE_RESULTS = ("IMAGE_URL", "IMAGE", "image", "image-url")
DIGEST_RESULTS = ("IMAGE_DIGEST", "image-digest", "digest")

POST_SYNC = "post-sync"
MESSAGE_LIMIT = 4096
"""Characters of a source commit's message the lineage keeps (the rest is cut)."""
TITLE_LIMIT = 200
"""Characters of its first line a summary shows."""
NAME_LIMIT = 256
"""Characters of an author's name or email kept."""


def owner(source: str) -> str:
    return f"{OWNER_PREFIX}{source}"


def parse_time(value: object) -> float | None:
    """Seconds since the epoch from a number or an RFC 3339 / ISO 8601 string."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and value:
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed.timestamp()
    return None


def run_results(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The results of a Tekton-shaped run (``status.results``, a list or a mapping)."""
    status = manifest.get("status")
    found = status.get("results") if isinstance(status, dict) else None
    if isinstance(found, dict):
        return dict(found)
    if isinstance(found, list):
        return {str(r["name"]): r.get("value") for r in found if isinstance(r, dict) and "name" in r}
    return {}


def run_condition(manifest: Mapping[str, Any]) -> dict[str, Any]:
    status = manifest.get("status")
    conditions = status.get("conditions") if isinstance(status, dict) else None
    if isinstance(conditions, list):
        for condition in conditions:
            if isinstance(condition, dict) and condition.get("type") == "Succeeded":
                return condition
    return {}


def image_of(results: Mapping[str, Any]) -> str:
    """``name@digest`` / ``name`` from the conventional image results of a build."""
    image = next((str(results[k]) for k in IMAGE_RESULTS if results.get(k)), "")
    digest = next((str(results[k]) for k in DIGEST_RESULTS if results.get(k)), "")
    if image and digest and "@" not in image:
        return f"{image}@{digest}"
    return image


def plain_text(value: object, limit: int, *, lines: bool = False) -> str:
    """``value`` as bounded plain text: not a string gives ``""``; control characters (terminal escapes
    included) are dropped, except newlines and tabs when ``lines``; at most ``limit`` characters."""
    if not isinstance(value, str):
        return ""
    kept = "\n\t" if lines else ""
    text = "".join(c for c in value if c in kept or (c.isprintable() or c == " "))
    return text.strip()[:limit]


def title_of(message: str) -> str:
    """The first line of a commit message (bounded)."""
    return message.strip().split("\n", 1)[0].strip()[:TITLE_LIMIT] if message else ""


@dataclass(frozen=True)
class SourcePush:
    """A source commit as a push webhook announced it; ``message`` and the author are user text,
    bounded by :meth:`of` (empty when the payload lacks them)."""

    commit: str
    repo: str = ""
    ref: str = ""
    committed_at: float | None = None
    message: str = ""
    author_name: str = ""
    author_email: str = ""

    @classmethod
    def of(
        cls,
        commit: str,
        repo: str = "",
        ref: str = "",
        committed_at: float | None = None,
        *,
        message: object = None,
        author_name: object = None,
        author_email: object = None,
    ) -> SourcePush:
        """A push with its commit's message and author made plain and bounded (:func:`plain_text`)."""
        return cls(
            commit,
            repo,
            ref,
            committed_at,
            plain_text(message, MESSAGE_LIMIT, lines=True),
            plain_text(author_name, NAME_LIMIT),
            plain_text(author_email, NAME_LIMIT),
        )

    def commit_facts(self) -> dict[str, object]:
        """What the lineage records of the commit itself (only the fields the push carried)."""
        facts = {"message": self.message, "authorName": self.author_name, "authorEmail": self.author_email}
        return {key: value for key, value in facts.items() if value}


@dataclass(frozen=True)
class RunSource:
    """The source commit a run was started for, as its hops name it: ``hop`` is the prefix of its hops
    (``pipelinerun``: a webhook's run; ``post-sync``: an Application's post-sync pipeline, with ``app``)."""

    commit: str
    hop: str = "pipelinerun"
    app: str = ""


def finished_hop(prefix: str, run: str, manifest: Mapping[str, Any], finished: float) -> dict[str, Any]:
    """The ``<prefix>-finished`` hop of ``run``: when, its ``Succeeded`` status and reason, and the image
    its results name (if any). The recorder and the trace (for runs only the store knows) both build it."""
    condition = run_condition(manifest)
    hop: dict[str, Any] = {
        "hop": f"{prefix}-finished",
        "time": finished,
        "run": run,
        "status": str(condition.get("status", "")),
        "reason": str(condition.get("reason", "")),
    }
    image = image_of(run_results(manifest))
    if image:
        hop["image"] = image
    return hop
