"""Path patterns as Argo CD's git generator reads them, and the names it derives from a path.

``match_dir`` is Go's ``path.Match`` (``*`` and ``?`` never cross ``/``; ``[...]`` classes; ``\\``
escapes), which the directories generator uses; ``match_file`` also lets ``**`` span directories, as the
files generator's globs do. ``normalized`` is Argo CD's ``SanitizeName``: lower case, every character
outside ``[-a-z0-9.]`` replaced by ``-``, at most 253 characters, no leading or trailing ``-`` or ``.``.
"""

from __future__ import annotations

import functools
import re

from gitloop.errors import SpecError

_INVALID_DNS = re.compile(r"[^-a-z0-9.]")
_MAX_DNS_NAME = 253


def normalized(name: str) -> str:
    """``name`` made a valid DNS subdomain-ish name (Argo CD's ``basenameNormalized``, ``nameNormalized``)."""
    return _INVALID_DNS.sub("-", name.lower())[:_MAX_DNS_NAME].strip("-.")


@functools.lru_cache(maxsize=512)
def _compile(pattern: str, double_star: bool) -> re.Pattern[str]:
    out, i, n = [], 0, len(pattern)
    while i < n:
        char = pattern[i]
        if char == "*":
            if double_star and pattern.startswith("**", i):
                i += 2
                if pattern.startswith("/", i):
                    out.append("(?:[^/]*/)*")
                    i += 1
                else:
                    out.append(".*")
                continue
            while i < n and pattern[i] == "*":
                i += 1
            out.append("[^/]*")
            continue
        if char == "?":
            out.append("[^/]")
        elif char == "\\":
            i += 1
            if i >= n:
                raise SpecError(f"syntax error in pattern {pattern!r}: trailing backslash")
            out.append(re.escape(pattern[i]))
        elif char == "[":
            end = pattern.find(
                "]", i + 2 if pattern.startswith("[^", i) or pattern.startswith("[]", i) else i + 1
            )
            if end < 0:
                raise SpecError(f"syntax error in pattern {pattern!r}: unclosed [")
            body = pattern[i + 1 : end]
            negate = body.startswith("^")
            body = body[1:] if negate else body
            out.append("[" + ("^/" if negate else "") + body.replace("\\", "\\\\") + "]")
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out))


def match_dir(pattern: str, path: str) -> bool:
    """Whether ``path`` matches ``pattern`` as Go's ``path.Match`` says (``*`` stays within one segment)."""
    return _compile(pattern, False).fullmatch(path) is not None


def match_file(pattern: str, path: str) -> bool:
    """Whether the file ``path`` matches ``pattern``; ``**`` spans any number of directories."""
    return _compile(pattern, True).fullmatch(path) is not None


def directories(files: list[str]) -> list[str]:
    """Every directory holding one of ``files`` (git keeps no empty ones), sorted."""
    found: set[str] = set()
    for file in files:
        parts = file.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            found.add("/".join(parts[:depth]))
    return sorted(found)
