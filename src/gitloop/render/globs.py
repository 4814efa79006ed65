"""The two glob dialects Argo CD uses, translated to regular expressions, and a file walker for one.

- ``directory.include`` / ``directory.exclude`` use gobwas/glob without separators: ``*`` and ``**``
  match any characters *including* ``/``, ``?`` one character, ``[a-z]`` / ``[!a-z]`` a class,
  ``{a,b}`` alternatives (which may nest and hold wildcards), and ``\\`` escapes.
- Helm ``valueFiles`` use doublestar: ``*`` and ``?`` stay within one path segment, ``**`` as a whole
  segment spans any number of them, classes take ``!`` or ``^``, and braces alternate as above.
  ``glob_files`` lists matches as doublestar does: a directory's own files in name order, then its
  subdirectories in name order.
"""

from __future__ import annotations

import os
import re
from pathlib import Path


class GlobError(ValueError):
    """A pattern that does not parse (an unclosed ``[`` or ``{``)."""


def gobwas_regex(pattern: str) -> re.Pattern[str]:
    """A regular expression that fully matches what gobwas/glob's ``pattern`` matches."""
    return _compile(pattern, segmented=False)


def doublestar_regex(pattern: str) -> re.Pattern[str]:
    """A regular expression that fully matches the paths doublestar's ``pattern`` matches."""
    return _compile(pattern, segmented=True)


def _compile(pattern: str, *, segmented: bool) -> re.Pattern[str]:
    try:
        return re.compile(_translate(pattern, segmented=segmented), re.DOTALL)
    except re.error as exc:
        raise GlobError(f"invalid pattern {pattern!r}: {exc}") from exc


def is_glob(path: str) -> bool:
    """Whether Argo CD treats a value-file path as a pattern."""
    return any(char in path for char in "*?[")


def glob_files(pattern: str) -> list[Path]:
    """Files (not directories) matching the absolute doublestar ``pattern``, in doublestar's order."""
    segments = pattern.split("/")
    fixed: list[str] = []
    for segment in segments:
        if any(char in segment for char in "*?[{\\"):
            break
        fixed.append(segment)
    rest = segments[len(fixed) :]
    if not rest:
        return [Path(pattern)] if Path(pattern).is_file() else []
    base = Path("/".join(fixed) or "/")
    regex = doublestar_regex(pattern)
    max_depth = None if any("**" in segment for segment in rest) else len(rest)
    found: list[Path] = []
    _walk(base, 1, max_depth, regex, found)
    return found


def _walk(
    directory: Path, depth: int, max_depth: int | None, regex: re.Pattern[str], out: list[Path]
) -> None:
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.is_file() and regex.fullmatch(entry.path):
            out.append(Path(entry.path))
    if max_depth is not None and depth >= max_depth:
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            _walk(Path(entry.path), depth + 1, max_depth, regex, out)


def _translate(pattern: str, *, segmented: bool) -> str:
    regex, end = _sequence(pattern, 0, segmented=segmented, in_braces=False)
    if end != len(pattern):  # pragma: no cover - _sequence consumes everything outside braces
        raise GlobError(f"unexpected {pattern[end]!r} at {end} in {pattern!r}")
    return regex


def _sequence(pattern: str, i: int, *, segmented: bool, in_braces: bool) -> tuple[str, int]:
    out: list[str] = []
    n = len(pattern)
    while i < n:
        char = pattern[i]
        if in_braces and char in ",}":
            break
        if char == "\\":
            out.append(re.escape(pattern[i + 1] if i + 1 < n else "\\"))
            i += 2
        elif char == "*":
            stars = i
            while i < n and pattern[i] == "*":
                i += 1
            out.append(_stars(pattern, stars, i, segmented))
            if out[-1].endswith("/)*") and i < n:
                i += 1  # a ``**/`` segment consumed its slash
        elif char == "?":
            out.append("[^/]" if segmented else ".")
            i += 1
        elif char == "[":
            piece, i = _char_class(pattern, i, segmented)
            out.append(piece)
        elif char == "{":
            piece, i = _alternatives(pattern, i, segmented)
            out.append(piece)
        else:
            out.append(re.escape(char))
            i += 1
    return "".join(out), i


def _stars(pattern: str, start: int, end: int, segmented: bool) -> str:
    if not segmented:
        return ".*"
    whole_segment = (start == 0 or pattern[start - 1] == "/") and (end == len(pattern) or pattern[end] == "/")
    if end - start >= 2 and whole_segment:
        return "(?:[^/]*/)*" if end < len(pattern) else ".*"
    return "[^/]*"


def _char_class(pattern: str, i: int, segmented: bool) -> tuple[str, int]:
    j = i + 1
    negate = j < len(pattern) and (pattern[j] == "!" or (segmented and pattern[j] == "^"))
    if negate:
        j += 1
    close = pattern.find("]", j + 1 if j < len(pattern) and pattern[j] == "]" else j)
    if close == -1:
        raise GlobError(f"unclosed '[' at {i} in {pattern!r}")
    body = pattern[j:close]
    parts: list[str] = []
    k = 0
    while k < len(body):
        if k + 2 < len(body) and body[k + 1] == "-":
            parts.append(f"{re.escape(body[k])}-{re.escape(body[k + 2])}")
            k += 3
        else:
            parts.append(re.escape(body[k]))
            k += 1
    if negate:
        return "[^" + ("/" if segmented else "") + "".join(parts) + "]", close + 1
    return "[" + "".join(parts) + "]", close + 1


def _alternatives(pattern: str, i: int, segmented: bool) -> tuple[str, int]:
    options: list[str] = []
    i += 1
    while True:
        piece, i = _sequence(pattern, i, segmented=segmented, in_braces=True)
        options.append(piece)
        if i >= len(pattern):
            raise GlobError(f"unclosed '{{' in {pattern!r}")
        if pattern[i] == "}":
            return "(?:" + "|".join(options) + ")", i + 1
        i += 1  # the comma
