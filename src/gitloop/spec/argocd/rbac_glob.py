"""Argo CD's glob for RBAC resources, actions and objects, pure: ``*`` any run of characters (``/``
included), ``?`` one character, ``[abc]``/``[a-z]``/``[!a]`` classes, ``{a,b}`` alternatives (nested
allowed), ``\\`` escapes the next character; a pattern without metacharacters matches exactly.

Patterns are compiled once (bounded cache) into brace-free alternatives of single-character tokens and
matched with the greedy star algorithm, which backtracks only to the last ``*``: at most
O(len(pattern) x len(text)) per alternative, never exponential. It lives in the spec layer so the
policy parser can check an action glob against the vocabulary; ``gitloop.access.glob`` re-exports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

MAX_ALTERNATIVES = 256
"""How many brace-free patterns one pattern's ``{...}`` may expand to."""
MAX_PATTERN = 1024
_META = frozenset("*?[]{}\\")


@dataclass(frozen=True)
class _Class:
    """A ``[...]`` class: characters and ranges, or their complement."""

    negated: bool
    ranges: tuple[tuple[str, str], ...]

    def matches(self, char: str) -> bool:
        hit = any(low <= char <= high for low, high in self.ranges)
        return hit != self.negated


_STAR = "*"
_ANY = "?"
_Token = str | _Class
"""``_STAR``, ``_ANY`` or a class (not literal), or one character (literal): tokens are held as
``(token, is_literal)`` so an escaped ``\\*`` is told apart from a star."""


def glob_match(pattern: str, text: str) -> bool:
    """Whether ``text`` matches the glob ``pattern`` in full. ``ValueError`` for a malformed pattern."""
    if pattern == "*":
        return True
    compiled = _compile(pattern)
    if compiled is None:
        return pattern == text
    return any(_match(tokens, text) for tokens in compiled)


def check_glob(pattern: str) -> None:
    """``ValueError`` naming the reason when ``pattern`` is not a valid glob."""
    _compile(pattern)


@lru_cache(maxsize=4096)
def _compile(pattern: str) -> tuple[tuple[tuple[_Token, bool], ...], ...] | None:
    """The brace-free alternatives of ``pattern`` as (token, is_literal) tuples; ``None``: no
    metacharacters, compare exactly."""
    if len(pattern) > MAX_PATTERN:
        raise ValueError(f"glob is longer than {MAX_PATTERN} characters")
    if not _META.intersection(pattern):
        return None
    return tuple(_tokens(alternative) for alternative in _expand(pattern))


def _expand(pattern: str) -> list[str]:
    """``pattern`` with its ``{a,b}`` groups expanded (escapes and classes kept as they are)."""
    start = _find_open_brace(pattern)
    if start < 0:
        return [pattern]
    end, options = _brace_options(pattern, start)
    prefix, suffix = pattern[:start], pattern[end + 1 :]
    found: list[str] = []
    for option in options:
        for expanded in _expand(prefix + option + suffix):
            found.append(expanded)
            if len(found) > MAX_ALTERNATIVES:
                raise ValueError(f"braces expand to more than {MAX_ALTERNATIVES} alternatives")
    return found


def _find_open_brace(pattern: str) -> int:
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if char == "[":
            i = _class_end(pattern, i) + 1
            continue
        if char == "{":
            return i
        if char == "}":
            raise ValueError(f"'}}' at {i} closes no '{{'")
        i += 1
    return -1


def _brace_options(pattern: str, start: int) -> tuple[int, list[str]]:
    """The index of the ``}`` closing the ``{`` at ``start``, and the top-level options inside."""
    depth, i, begin = 0, start, start + 1
    options: list[str] = []
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if char == "[":
            i = _class_end(pattern, i) + 1
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                options.append(pattern[begin:i])
                return i, options
        elif char == "," and depth == 1:
            options.append(pattern[begin:i])
            begin = i + 1
        i += 1
    raise ValueError(f"'{{' at {start} is not closed")


def _class_end(pattern: str, start: int) -> int:
    """The index of the ``]`` closing the class opened at ``start``."""
    i = start + 1
    if i < len(pattern) and pattern[i] == "!":
        i += 1
    if i < len(pattern) and pattern[i] == "]":
        i += 1
    while i < len(pattern):
        if pattern[i] == "\\":
            i += 2
            continue
        if pattern[i] == "]":
            return i
        i += 1
    raise ValueError(f"'[' at {start} is not closed")


def _tokens(pattern: str) -> tuple[tuple[_Token, bool], ...]:
    out: list[tuple[_Token, bool]] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            if i + 1 >= len(pattern):
                raise ValueError("'\\' at the end escapes nothing")
            out.append((pattern[i + 1], True))
            i += 2
        elif char == "*":
            if not out or out[-1] != (_STAR, False):
                out.append((_STAR, False))
            i += 1
        elif char == "?":
            out.append((_ANY, False))
            i += 1
        elif char == "[":
            end = _class_end(pattern, i)
            out.append((_parse_class(pattern[i + 1 : end], i), False))
            i = end + 1
        elif char == "]":
            raise ValueError(f"']' at {i} closes no '['")
        else:
            out.append((char, True))
            i += 1
    return tuple(out)


def _parse_class(body: str, at: int) -> _Class:
    negated = body.startswith("!")
    chars = body[1:] if negated else body
    ranges: list[tuple[str, str]] = []
    i = 0
    while i < len(chars):
        low = chars[i + 1] if chars[i] == "\\" and i + 1 < len(chars) else chars[i]
        i += 2 if chars[i] == "\\" else 1
        if i + 1 < len(chars) and chars[i] == "-":
            high = chars[i + 1]
            if high < low:
                raise ValueError(f"range {low}-{high} in the class at {at} is reversed")
            ranges.append((low, high))
            i += 2
        else:
            ranges.append((low, low))
    if not ranges:
        raise ValueError(f"the class at {at} is empty")
    return _Class(negated, tuple(ranges))


def _one(token: _Token, literal: bool, char: str) -> bool:
    if literal:
        return token == char
    if isinstance(token, _Class):
        return token.matches(char)
    return token == _ANY


def _match(tokens: tuple[tuple[_Token, bool], ...], text: str) -> bool:
    """Greedy star matching: on a mismatch, retry from the last ``*`` one character further."""
    t = i = 0
    star_t, star_i = -1, 0
    while i < len(text):
        if t < len(tokens):
            token, literal = tokens[t]
            if not literal and token == _STAR:
                star_t, star_i = t, i
                t += 1
                continue
            if _one(token, literal, text[i]):
                t += 1
                i += 1
                continue
        if star_t < 0:
            return False
        star_i += 1
        t, i = star_t + 1, star_i
    while t < len(tokens) and tokens[t] == (_STAR, False):
        t += 1
    return t == len(tokens)
