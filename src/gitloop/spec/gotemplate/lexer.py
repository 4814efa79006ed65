"""The lexer of Go's text/template: text and ``{{ }}`` actions into tokens, with trim markers and comments.

Positions are byte offsets into the template text as Go counts them (``Token.pos`` indexes the str; the
parser turns it into line numbers for errors).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, auto
from typing import Final


class Kind(Enum):
    TEXT = auto()
    LEFT = auto()
    RIGHT = auto()
    SPACE = auto()
    FIELD = auto()
    DOT = auto()
    VARIABLE = auto()
    IDENTIFIER = auto()
    KEYWORD = auto()
    BOOL = auto()
    NIL = auto()
    NUMBER = auto()
    CHAR = auto()
    STRING = auto()
    RAW_STRING = auto()
    DECLARE = auto()
    ASSIGN = auto()
    PIPE = auto()
    LEFT_PAREN = auto()
    RIGHT_PAREN = auto()
    COMMA = auto()
    EOF = auto()


KEYWORDS: Final = frozenset(
    {"block", "break", "continue", "define", "else", "end", "if", "range", "template", "with"}
)
_SPACES: Final = " \t\r\n"
_LEFT: Final = "{{"
_RIGHT: Final = "}}"


@dataclass(frozen=True)
class Token:
    kind: Kind
    text: str
    pos: int


class LexError(Exception):
    """A lexical error at a byte position; the parser adds the template name and line."""

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.pos = pos


def _is_alnum(ch: str) -> bool:
    return ch == "_" or ch.isalnum()


def tokenize(text: str) -> list[Token]:
    """All tokens of a template, ending with EOF; raises LexError as Go's lexer would."""
    tokens: list[Token] = []
    pos = 0
    trim_next = False
    while pos < len(text):
        start = text.find(_LEFT, pos)
        end = len(text) if start < 0 else start
        chunk = text[pos:end]
        if trim_next:
            stripped = chunk.lstrip(_SPACES)
            pos += len(chunk) - len(stripped)
            chunk = stripped
            trim_next = False
        if start < 0:
            if chunk:
                tokens.append(Token(Kind.TEXT, chunk, pos))
            break
        left_trim = text.startswith("-", start + 2) and start + 3 < len(text) and text[start + 3] in _SPACES
        if left_trim:
            chunk = chunk.rstrip(_SPACES)
        if chunk:
            tokens.append(Token(Kind.TEXT, chunk, pos))
        inside = start + 2 + (2 if left_trim else 0)
        if text.startswith("/*", inside):
            pos, trim_next = _comment(text, inside)
            continue
        tokens.append(Token(Kind.LEFT, _LEFT, start))
        pos, trim_next = _action(text, inside, tokens)
    tokens.append(Token(Kind.EOF, "", len(text)))
    return tokens


def _right_delim(text: str, pos: int) -> tuple[bool, bool]:
    """(at a right delimiter, with a trim marker) at pos; a trim marker is `` -}}``."""
    if text.startswith(_RIGHT, pos):
        return True, False
    if pos < len(text) and text[pos] in _SPACES:
        after = pos
        while after < len(text) and text[after] in _SPACES:
            after += 1
        if text.startswith("-" + _RIGHT, after):
            return True, True
    return False, False


def _comment(text: str, pos: int) -> tuple[int, bool]:
    close = text.find("*/", pos + 2)
    if close < 0:
        raise LexError("unclosed comment", pos)
    after = close + 2
    at_right, trim = _right_delim(text, after)
    if not at_right:
        raise LexError("comment ends before closing delimiter", pos)
    return _skip_right(text, after, trim), trim


def _skip_right(text: str, pos: int, trim: bool) -> int:
    if trim:
        return text.index("-" + _RIGHT, pos) + 3
    return pos + 2


def _action(text: str, pos: int, tokens: list[Token]) -> tuple[int, bool]:
    depth = 0
    while True:
        at_right, trim = _right_delim(text, pos)
        if at_right:
            if depth:
                raise LexError("unclosed left paren", pos)
            tokens.append(Token(Kind.RIGHT, _RIGHT, pos))
            return _skip_right(text, pos, trim), trim
        if pos >= len(text):
            raise LexError("unclosed action", pos)
        ch = text[pos]
        if ch in _SPACES:
            end = pos
            while end < len(text) and text[end] in _SPACES:
                end += 1
            tokens.append(Token(Kind.SPACE, text[pos:end], pos))
            pos = end
        elif text.startswith(":=", pos):
            tokens.append(Token(Kind.DECLARE, ":=", pos))
            pos += 2
        elif ch == "=":
            tokens.append(Token(Kind.ASSIGN, "=", pos))
            pos += 1
        elif ch == "|":
            tokens.append(Token(Kind.PIPE, "|", pos))
            pos += 1
        elif ch == ",":
            tokens.append(Token(Kind.COMMA, ",", pos))
            pos += 1
        elif ch == "(":
            tokens.append(Token(Kind.LEFT_PAREN, "(", pos))
            depth += 1
            pos += 1
        elif ch == ")":
            if depth == 0:
                raise LexError("unexpected right paren", pos)
            tokens.append(Token(Kind.RIGHT_PAREN, ")", pos))
            depth -= 1
            pos += 1
        elif ch == '"':
            pos = _quoted(text, pos, '"', Kind.STRING, tokens)
        elif ch == "`":
            close = text.find("`", pos + 1)
            if close < 0:
                raise LexError("unterminated raw quoted string", pos)
            tokens.append(Token(Kind.RAW_STRING, text[pos : close + 1], pos))
            pos = close + 1
        elif ch == "'":
            pos = _quoted(text, pos, "'", Kind.CHAR, tokens)
        elif ch == "$":
            pos = _word(text, pos, pos + 1, Kind.VARIABLE, tokens)
        elif ch == ".":
            if pos + 1 < len(text) and text[pos + 1].isdigit():
                pos = _number(text, pos, tokens)
            elif pos + 1 < len(text) and _is_alnum(text[pos + 1]):
                pos = _word(text, pos, pos + 1, Kind.FIELD, tokens)
            else:
                tokens.append(Token(Kind.DOT, ".", pos))
                pos += 1
        elif ch in "+-" or ch.isdigit():
            pos = _number(text, pos, tokens)
        elif _is_alnum(ch):
            pos = _word(text, pos, pos, Kind.IDENTIFIER, tokens)
        else:
            raise LexError(f"unrecognized character in action: {ch!r}", pos)


def _word(text: str, start: int, pos: int, kind: Kind, tokens: list[Token]) -> int:
    while pos < len(text) and _is_alnum(text[pos]):
        pos += 1
    word = text[start:pos]
    if pos < len(text) and not (
        text[pos] in _SPACES or text[pos] in ".,|:()=" or text.startswith(_RIGHT, pos)
    ):
        raise LexError(f"bad character {text[pos]!r}", pos)
    if kind is Kind.IDENTIFIER:
        if word in KEYWORDS:
            kind = Kind.KEYWORD
        elif word in ("true", "false"):
            kind = Kind.BOOL
        elif word == "nil":
            kind = Kind.NIL
    tokens.append(Token(kind, word, start))
    return pos


def _quoted(text: str, pos: int, quote: str, kind: Kind, tokens: list[Token]) -> int:
    end = pos + 1
    while True:
        if end >= len(text) or text[end] == "\n":
            raise LexError(
                "unterminated quoted string" if quote == '"' else "unterminated character constant", pos
            )
        if text[end] == "\\":
            end += 2
            continue
        if text[end] == quote:
            break
        end += 1
    tokens.append(Token(kind, text[pos : end + 1], pos))
    return end + 1


def _number(text: str, pos: int, tokens: list[Token]) -> int:
    end = pos
    if text[end] in "+-":
        end += 1
    while end < len(text) and (
        _is_alnum(text[end]) or text[end] == "." or (text[end] in "+-" and text[end - 1] in "eEpP")
    ):
        end += 1
    tokens.append(Token(Kind.NUMBER, text[pos:end], pos))
    return end
