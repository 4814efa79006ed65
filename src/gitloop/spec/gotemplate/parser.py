"""The parser of Go's text/template: tokens into a tree of nodes, checking names as Go does at parse time.

Go rejects unknown functions and undefined variables when it parses, not when it executes; so does this.
Errors are ``ParseError(message, pos)``; ``gotemplate.parse`` names the template and line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gitloop.spec.gotemplate import nodes as n
from gitloop.spec.gotemplate.lexer import Kind, Token

_OPERAND_START = {
    Kind.BOOL, Kind.CHAR, Kind.DOT, Kind.FIELD, Kind.IDENTIFIER, Kind.NUMBER, Kind.NIL,
    Kind.RAW_STRING, Kind.STRING, Kind.VARIABLE, Kind.LEFT_PAREN,
}  # fmt: skip
_NOT_EXECUTABLE = (n.Literal, n.Dot, n.Nil)
_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
}


class ParseError(Exception):
    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.pos = pos


class _End:
    """The ``{{end}}`` or ``{{else}}`` that closed a list (``keyword`` is "end", "else", "else if", "else with")."""

    def __init__(self, keyword: str, pos: int) -> None:
        self.keyword = keyword
        self.pos = pos


class Parser:
    def __init__(self, tokens: list[Token], is_function: Callable[[str], bool]) -> None:
        self._tokens = tokens
        self._at = 0
        self._is_function = is_function
        self._vars: list[str] = ["$"]
        self._range_depth = 0
        self.defines: dict[str, tuple[Any, ...]] = {}

    # -- tokens
    def _next(self) -> Token:
        token = self._tokens[self._at]
        if token.kind is not Kind.EOF:
            self._at += 1
        return token

    def _peek(self) -> Token:
        return self._tokens[self._at]

    def _next_non_space(self) -> Token:
        token = self._next()
        while token.kind is Kind.SPACE:
            token = self._next()
        return token

    def _peek_non_space(self) -> Token:
        at = self._at
        while self._tokens[at].kind is Kind.SPACE:
            at += 1
        return self._tokens[at]

    def _unexpected(self, token: Token, context: str) -> ParseError:
        if token.kind is Kind.EOF:
            return ParseError(
                f"unexpected EOF in {context}" if context != "input" else "unexpected EOF", token.pos
            )
        shown = f"<{token.text}>" if token.kind is Kind.KEYWORD else f'"{token.text}"'
        return ParseError(f"unexpected {shown} in {context}", token.pos)

    def _expect_right(self, context: str) -> None:
        token = self._next_non_space()
        if token.kind is not Kind.RIGHT:
            raise self._unexpected(token, context)

    # -- lists
    def parse(self) -> tuple[Any, ...]:
        body: list[Any] = []
        while self._peek().kind is not Kind.EOF:
            if self._peek().kind is Kind.LEFT:
                after = self._at + 1
                while self._tokens[after].kind is Kind.SPACE:
                    after += 1
                word = self._tokens[after]
                if word.kind is Kind.KEYWORD and word.text == "define":
                    self._at = after + 1
                    self._define()
                    continue
            node = self._text_or_action()
            if isinstance(node, _End):
                raise ParseError(f"unexpected {{{{{node.keyword}}}}}", node.pos)
            body.append(node)
        return tuple(body)

    def _list(self) -> tuple[tuple[Any, ...], _End]:
        body: list[Any] = []
        while True:
            if self._peek().kind is Kind.EOF:
                raise ParseError("unexpected EOF", self._peek().pos)
            node = self._text_or_action()
            if isinstance(node, _End):
                return tuple(body), node
            body.append(node)

    def _text_or_action(self) -> Any:
        token = self._next()
        if token.kind is Kind.TEXT:
            return n.Text(token.pos, token.text)
        if token.kind is Kind.LEFT:
            return self._action()
        raise self._unexpected(token, "input")

    def _action(self) -> Any:
        token = self._next_non_space()
        if token.kind is Kind.KEYWORD:
            return self._keyword(token)
        self._at -= 1
        return n.Action(token.pos, self._pipeline("command", Kind.RIGHT))

    def _keyword(self, token: Token) -> Any:
        word = token.text
        if word == "end":
            self._expect_right("end")
            return _End("end", token.pos)
        if word == "else":
            after = self._peek_non_space()
            if after.kind is Kind.KEYWORD and after.text in ("if", "with"):
                self._next_non_space()
                return _End("else " + after.text, token.pos)
            self._expect_right("else")
            return _End("else", token.pos)
        if word in ("if", "with", "range"):
            return self._control(word, token.pos)
        if word in ("break", "continue"):
            if not self._range_depth:
                raise ParseError(f"{{{{{word}}}}} outside {{{{range}}}}", token.pos)
            self._expect_right(word)
            return n.Loop(token.pos, word)
        if word in ("template", "block"):
            return self._template(word, token.pos)
        raise ParseError(f"unexpected <{word}> in command", token.pos)

    def _control(self, keyword: str, pos: int) -> n.Branch:
        mark = len(self._vars)
        pipe = self._pipeline(keyword, Kind.RIGHT)
        if keyword == "range":
            self._range_depth += 1
        try:
            body, end = self._list()
        finally:
            if keyword == "range":
                self._range_depth -= 1
        else_list: tuple[Any, ...] = ()
        if end.keyword.startswith("else "):
            if end.keyword != "else " + keyword:
                raise ParseError(f"unexpected {{{{{end.keyword}}}}} in {keyword}", end.pos)
            else_list = (self._control(keyword, end.pos),)
        elif end.keyword == "else":
            else_list, end = self._list()
            if end.keyword != "end":
                raise ParseError(f"expected end; found {{{{{end.keyword}}}}}", end.pos)
        del self._vars[mark:]
        return n.Branch(pos, keyword, pipe, body, else_list)

    def _template_name(self, context: str) -> str:
        token = self._next_non_space()
        if token.kind not in (Kind.STRING, Kind.RAW_STRING):
            raise self._unexpected(token, context)
        return str(self._literal(token).value)

    def _template(self, keyword: str, pos: int) -> n.TemplateCall:
        context = f"{keyword} clause"
        name = self._template_name(context)
        pipe = None
        if self._peek_non_space().kind is not Kind.RIGHT:
            pipe = self._pipeline(context, Kind.RIGHT)
        else:
            self._expect_right(context)
        if keyword == "block":
            self._define_body(name, pos)
        return n.TemplateCall(pos, name, pipe)

    def _define(self) -> None:
        start = self._peek_non_space().pos
        name = self._template_name("define clause")
        self._expect_right("define clause")
        self._define_body(name, start)

    def _define_body(self, name: str, pos: int) -> None:
        saved, self._vars = self._vars, ["$"]
        body, end = self._list()
        self._vars = saved
        if end.keyword != "end":
            raise ParseError(f"unexpected {{{{{end.keyword}}}}} in define clause", end.pos)
        if self.defines.get(name):
            raise ParseError(f'multiple definition of template "{name}"', pos)
        self.defines[name] = body

    # -- pipelines
    def _pipeline(self, context: str, end: Kind) -> n.Pipe:
        decl: list[str] = []
        is_assign = False
        start = self._peek_non_space().pos
        if self._peek_non_space().kind is Kind.VARIABLE:
            saved = self._at
            variable = self._next_non_space()
            after = self._peek_non_space()
            if after.kind in (Kind.DECLARE, Kind.ASSIGN):
                self._next_non_space()
                is_assign = after.kind is Kind.ASSIGN
                decl.append(variable.text)
            elif after.kind is Kind.COMMA and context == "range":
                self._next_non_space()
                second = self._next_non_space()
                declare = self._next_non_space()
                if second.kind is not Kind.VARIABLE or declare.kind not in (Kind.DECLARE, Kind.ASSIGN):
                    raise ParseError("range can only initialize variables", second.pos)
                is_assign = declare.kind is Kind.ASSIGN
                decl += [variable.text, second.text]
            elif after.kind is Kind.COMMA:
                raise ParseError(f"too many declarations in {context}", after.pos)
            else:
                self._at = saved
            for name in decl:
                if is_assign:
                    self._use_var(name, variable.pos)
                else:
                    self._vars.append(name)
        cmds: list[n.Command] = []
        while True:
            token = self._next_non_space()
            if token.kind is end:
                break
            if token.kind not in _OPERAND_START:
                raise self._unexpected(token, context)
            self._at -= 1
            cmds.append(self._command(end))
        if not cmds:
            raise ParseError(f"missing value for {context}", token.pos)
        for stage, cmd in enumerate(cmds[1:], start=2):
            if isinstance(cmd.args[0], _NOT_EXECUTABLE):
                raise ParseError(f"non executable command in pipeline stage {stage}", cmd.pos)
        return n.Pipe(start, tuple(decl), is_assign, tuple(cmds))

    def _command(self, end: Kind) -> n.Command:
        args: list[Any] = []
        pos = self._peek_non_space().pos
        while True:
            self._peek_non_space()
            while self._peek().kind is Kind.SPACE:
                self._next()
            args.append(self._operand())
            token = self._next()
            if token.kind is Kind.SPACE:
                if self._peek().kind in (end, Kind.PIPE):
                    token = self._next()
                else:
                    continue
            if token.kind is end:
                self._at -= 1
            elif token.kind is not Kind.PIPE:
                raise self._unexpected(token, "operand")
            return n.Command(pos, tuple(args))

    def _operand(self) -> Any:
        node = self._term()
        if self._peek().kind is not Kind.FIELD:
            return node
        names: list[str] = []
        while self._peek().kind is Kind.FIELD:
            names.append(self._next().text[1:])
        if isinstance(node, n.Field):
            return n.Field(node.pos, node.names + tuple(names))
        if isinstance(node, n.Variable):
            return n.Variable(node.pos, node.names + tuple(names))
        if isinstance(node, n.Literal | n.Nil | n.Dot):
            raise ParseError(f"unexpected . after term {str(node)!r}", node.pos)
        return n.Chain(node.pos, node, tuple(names))

    def _term(self) -> Any:
        token = self._next_non_space()
        kind = token.kind
        if kind is Kind.IDENTIFIER:
            if not self._is_function(token.text):
                raise ParseError(f'function "{token.text}" not defined', token.pos)
            return n.Identifier(token.pos, token.text)
        if kind is Kind.DOT:
            return n.Dot(token.pos)
        if kind is Kind.NIL:
            return n.Nil(token.pos)
        if kind is Kind.VARIABLE:
            self._use_var(token.text, token.pos)
            return n.Variable(token.pos, (token.text,))
        if kind is Kind.FIELD:
            return n.Field(token.pos, (token.text[1:],))
        if kind is Kind.LEFT_PAREN:
            return self._pipeline("parenthesized pipeline", Kind.RIGHT_PAREN)
        if kind in (Kind.BOOL, Kind.NUMBER, Kind.CHAR, Kind.STRING, Kind.RAW_STRING):
            return self._literal(token)
        raise self._unexpected(token, "operand")

    def _use_var(self, name: str, pos: int) -> None:
        if name not in self._vars:
            raise ParseError(f'undefined variable "{name}"', pos)

    def _literal(self, token: Token) -> n.Literal:
        text = token.text
        if token.kind is Kind.BOOL:
            return n.Literal(token.pos, text == "true", text)
        if token.kind is Kind.RAW_STRING:
            return n.Literal(token.pos, text[1:-1].replace("\r", ""), text)
        if token.kind is Kind.STRING:
            return n.Literal(token.pos, _unquote(text[1:-1], token.pos), text)
        if token.kind is Kind.CHAR:
            value = _unquote(text[1:-1], token.pos)
            if len(value) != 1:
                raise ParseError(f"malformed character constant: {text}", token.pos)
            return n.Literal(token.pos, ord(value), text)
        return n.Literal(token.pos, _number(text, token.pos), text)


def _number(text: str, pos: int) -> int | float:
    body = text.lstrip("+-")
    try:
        if len(body) > 1 and body[0] == "0" and body[1].isdigit() and body.isdigit():
            value: int | float = int(body, 8)
            return -value if text.startswith("-") else value
        return int(text, 0)
    except ValueError:
        pass
    try:
        if body.lower().startswith("0x") or "_" in body or body[-1:].isalpha():
            raise ValueError(text)
        result = float(text)
    except ValueError:
        raise ParseError(f"bad number syntax: {text!r}", pos) from None
    return result


def _unquote(body: str, pos: int) -> str:
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        code = body[i + 1 : i + 2]
        if code in _ESCAPES:
            out.append(_ESCAPES[code])
            i += 2
        elif code in ("x", "u", "U"):
            width = {"x": 2, "u": 4, "U": 8}[code]
            digits = body[i + 2 : i + 2 + width]
            if len(digits) != width or any(c not in "0123456789abcdefABCDEF" for c in digits):
                raise ParseError(f"invalid syntax in quoted string: {body!r}", pos)
            out.append(chr(int(digits, 16)))
            i += 2 + width
        elif code and code in "01234567":
            digits = body[i + 1 : i + 4]
            if len(digits) != 3 or any(c not in "01234567" for c in digits):
                raise ParseError(f"invalid syntax in quoted string: {body!r}", pos)
            out.append(chr(int(digits, 8)))
            i += 4
        else:
            raise ParseError(f"invalid syntax in quoted string: {body!r}", pos)
    return "".join(out)
