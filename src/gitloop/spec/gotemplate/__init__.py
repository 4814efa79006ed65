"""A Go ``text/template`` subset with Sprig and Argo CD's functions, for ApplicationSet templates and
any other Go template a gitloop input carries (pure: no I/O, no environment).

    tmpl = parse("{{ .name | upper }}", name="spec.source.path", options=["missingkey=error"])
    tmpl.execute({"name": "dev"})  # "DEV"

Everything Go's text/template has but method calls and complex numbers: actions with trim markers,
comments, fields, variables, pipelines, ``if``/``else if``/``with``/``range``/``break``/``continue``,
``define``/``template``/``block``, Go's builtins and ``missingkey=default|invalid|zero|error``. The
functions are Sprig's that Argo CD documents (without ``env``, ``expandenv``, ``getHostByName``) plus
``normalize``, ``slugify``, ``toYaml``, ``fromYaml``, ``fromYamlArray`` and ``tpl``. Errors are ``SpecError``
worded as Go's (``template: NAME:LINE:COL: executing "NAME" at <.a.b>: map has no entry for key "b"``).
Parse results are immutable and cached by (text, name, options).
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from gitloop.errors import SpecError
from gitloop.spec.gotemplate.builtins import GO_BUILTINS
from gitloop.spec.gotemplate.execute import ExecFailure, Executor, Func
from gitloop.spec.gotemplate.lexer import LexError, tokenize
from gitloop.spec.gotemplate.parser import ParseError, Parser
from gitloop.spec.gotemplate.sprig_data import DATA_FUNCS
from gitloop.spec.gotemplate.sprig_semver import SEMVER_FUNCS
from gitloop.spec.gotemplate.sprig_text import TEXT_FUNCS
from gitloop.spec.gotemplate.values import FuncError

MAX_TPL_DEPTH: Final = 16
_TOO_DEEP: Final = f"tpl nested more than {MAX_TPL_DEPTH} deep"
_TPL_DEPTH: Final[contextvars.ContextVar[int]] = contextvars.ContextVar("gotemplate_tpl_depth", default=0)


def _tpl_outside_a_template(text: str, data: Any) -> str:
    raise FuncError("tpl runs only inside a parsed Template")


FUNCTIONS: Final[Mapping[str, Func]] = {
    **DATA_FUNCS,
    **TEXT_FUNCS,
    **SEMVER_FUNCS,
    **GO_BUILTINS,
    "tpl": Func(_tpl_outside_a_template, ("str", "any")),
}
_MISSING_KEYS: Final = {"default": "default", "invalid": "default", "zero": "zero", "error": "error"}

__all__ = ["FUNCTIONS", "Template", "parse"]


@dataclass(frozen=True)
class Template:
    """A parsed template: execute it with any number of data values."""

    name: str
    text: str
    body: tuple[Any, ...]
    defines: Mapping[str, tuple[Any, ...]]
    missing_key: str
    options: tuple[str, ...] = ()

    @functools.cached_property
    def _functions(self) -> Mapping[str, Func]:
        return {**FUNCTIONS, "tpl": Func(self._tpl, ("str", "any"))}

    def _tpl(self, text: str, data: Any) -> str:
        """Argo CD's ``tpl``: ``text`` executed as a template with this one's options; ``<no value>`` → ""."""
        depth = _TPL_DEPTH.get()
        if depth >= MAX_TPL_DEPTH:
            raise FuncError(_TOO_DEEP)
        try:
            inner = parse(text, name=self.name, options=self.options)
        except SpecError as exc:
            raise FuncError(f"cannot parse template {text!r}: {exc}") from None
        token = _TPL_DEPTH.set(depth + 1)
        try:
            return inner.execute(data).replace("<no value>", "")
        except SpecError as exc:
            reason = _TOO_DEEP if str(exc).endswith(_TOO_DEEP) else str(exc)
            raise FuncError(
                reason
                if reason == _TOO_DEEP
                else f"error during tpl function execution for {text!r}: {reason}"
            ) from None
        finally:
            _TPL_DEPTH.reset(token)

    def execute(self, data: Any) -> str:
        """The template's output for ``data``; ``SpecError`` worded as Go's execution errors."""
        executor = Executor(
            name=self.name, defines=self.defines, funcs=self._functions, missing_key=self.missing_key
        )
        try:
            return executor.run(self.body, data)
        except ExecFailure as exc:
            context = str(exc.node) if exc.node is not None else ""
            if len(context) > 20:
                context = context[:20] + "..."
            position = getattr(exc.node, "pos", 0)
            raise SpecError(
                f'template: {self._where(position)}: executing "{exc.template}" at <{context}>: {exc}'
            ) from None
        except RecursionError:
            raise SpecError(f"template: {self.name}: nesting too deep to execute") from None

    def _where(self, pos: int) -> str:
        before = self.text[:pos]
        line = before.count("\n") + 1
        column = len(before.encode()) - (
            len(before[: before.rfind("\n") + 1].encode()) if "\n" in before else 0
        )
        return f"{self.name}:{line}:{column}"


def parse(text: str, *, name: str = "template", options: Sequence[str] = ()) -> Template:
    """Parse ``text`` as a Go template named ``name``; ``options`` are Go's ``Option`` strings."""
    return _parse(text, name, tuple(options))


@functools.lru_cache(maxsize=4096)
def _parse(text: str, name: str, options: tuple[str, ...]) -> Template:
    missing_key = "default"
    for option in options:
        key, _, value = option.partition("=")
        if key != "missingkey" or value not in _MISSING_KEYS:
            raise SpecError(f"template: {name}: unrecognized option: {option}")
        missing_key = _MISSING_KEYS[value]
    try:
        parser = Parser(tokenize(text), FUNCTIONS.__contains__)
        body = parser.parse()
    except (LexError, ParseError) as exc:
        line = text[: exc.pos].count("\n") + 1
        raise SpecError(f"template: {name}:{line}: {exc}") from None
    except RecursionError:
        raise SpecError(f"template: {name}: nesting too deep to parse") from None
    return Template(name, text, body, dict(parser.defines), missing_key, options)
