"""How records and log lines become stored text: one encoder for every ``Store`` implementation, so
the in-memory fake and the databases accept, reject and give back exactly the same documents.

Documents are strict JSON: no NaN or infinities (PostgreSQL's ``json`` refuses them), string keys
only, and what comes back is a fresh copy (tuples come back as lists, as from any JSON store).
"""

from __future__ import annotations

import json
from typing import Any, cast

from gitloop.errors import GitloopError

# PostgreSQL ``text`` cannot hold NUL; every implementation replaces it so all of them agree.
_NUL = "\x00"
_REPLACEMENT = "\ufffd"


def encode(value: object) -> str:
    """Strict, compact JSON text of ``value``; ``TypeError``/``ValueError`` for what JSON cannot hold."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def decode(text: str) -> Any:
    """The value behind JSON text written by ``encode``."""
    return json.loads(text)


def checked_doc(doc: dict[str, object], *, what: str) -> str:
    """``doc`` encoded, or a ``GitloopError`` naming ``what`` when it is not a JSON object."""
    if not isinstance(doc, dict):
        raise GitloopError(f"{what}: a document must be a dict, not {type(doc).__name__}")
    try:
        return encode(doc)
    except (TypeError, ValueError) as exc:
        raise GitloopError(f"{what}: document is not JSON-compatible: {exc}") from exc


def copy_doc(doc: dict[str, object], *, what: str) -> dict[str, object]:
    """A deep, JSON-normalised copy of ``doc`` (what a database would give back)."""
    return cast(dict[str, object], decode(checked_doc(doc, what=what)))


def checked_labels(labels: dict[str, str] | None, *, what: str) -> dict[str, str] | None:
    """``labels`` copied, or a ``GitloopError`` when a key or value is not a string."""
    if labels is None:
        return None
    for key, value in labels.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise GitloopError(f"{what}: label {key!r}={value!r}: labels map strings to strings")
    return dict(labels)


def log_text(line: str) -> str:
    """A log line as stored: NUL characters replaced by U+FFFD."""
    return line.replace(_NUL, _REPLACEMENT) if _NUL in line else line


def log_chunks(lines: list[str], *, max_chars: int, max_lines: int) -> list[list[str]]:
    """``lines`` (already ``log_text``) in consecutive groups of at most ``max_lines`` lines and, unless a
    single line is longer, ``max_chars`` characters: the units a database keeps in one row."""
    chunks: list[list[str]] = []
    current: list[str] = []
    size = 0
    for line in lines:
        if current and (size + len(line) > max_chars or len(current) >= max_lines):
            chunks.append(current)
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    if current:
        chunks.append(current)
    return chunks


def encode_lines(lines: list[str]) -> str:
    """The stored text of one chunk of log lines (a JSON array: a line may hold any character)."""
    return encode(lines)


def decode_lines(text: str) -> list[str]:
    """The lines of a chunk written by ``encode_lines``."""
    return cast(list[str], decode(text))
