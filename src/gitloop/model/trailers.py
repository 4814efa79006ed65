"""The trailers gitloop writes at the end of a config commit's message and reads back.

The image handoff writes them (:mod:`gitloop.handoff.message`); the lineage and the post-sync rules
read them to link a config commit to the source commit and PipelineRun it came from. The names and
the parser live here, below both, so that writer and readers agree on one vocabulary.
"""

from __future__ import annotations

import re

__all__ = [
    "TRAILER_APPROVED_BY",
    "TRAILER_FILE",
    "TRAILER_IMAGE",
    "TRAILER_PIPELINERUN",
    "TRAILER_PROMOTION",
    "TRAILER_REVERT_OF",
    "TRAILER_SOURCE_COMMIT",
    "is_trailer_block",
    "parse_trailers",
    "trailer_values",
]

TRAILER_IMAGE = "Gitloop-Image"
TRAILER_FILE = "Gitloop-File"
TRAILER_SOURCE_COMMIT = "Gitloop-Source-Commit"
TRAILER_PIPELINERUN = "Gitloop-PipelineRun"
TRAILER_PROMOTION = "Gitloop-Promotion"
TRAILER_APPROVED_BY = "Gitloop-Approved-By"
"""A promotion's commit (:mod:`gitloop.promote.message`): its id, and one trailer per approver."""
TRAILER_REVERT_OF = "Gitloop-Revert-Of"

_TRAILER_LINE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*: \S.*")


def is_trailer_block(paragraph: str) -> bool:
    """Whether every line of ``paragraph`` is a ``Key: value`` trailer (and there is one at least)."""
    lines = paragraph.splitlines()
    return bool(lines) and all(_TRAILER_LINE.fullmatch(line) for line in lines)


def parse_trailers(message: str) -> dict[str, str]:
    """The trailers of the last paragraph of ``message`` (the last value of a repeated key)."""
    last = message.strip().rsplit("\n\n", 1)[-1]
    if not is_trailer_block(last):
        return {}
    out: dict[str, str] = {}
    for line in last.splitlines():
        key, _, value = line.partition(": ")
        out[key] = value
    return out


def trailer_values(message: str, key: str) -> list[str]:
    """Every value of the repeated trailer ``key`` in the last paragraph of ``message``, in order."""
    last = message.strip().rsplit("\n\n", 1)[-1]
    if not is_trailer_block(last):
        return []
    return [value for name, _, value in (line.partition(": ") for line in last.splitlines()) if name == key]
