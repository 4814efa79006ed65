"""The ``cel`` interceptor: a ``filter`` that must be true, then ``overlays`` that add ``extensions``.

Expressions see ``body`` (the JSON payload), ``header`` (``map(string, list(string))``, canonical names),
``extensions`` (what earlier interceptors added) and ``requestURL``; the functions are those of
``cel_library``. As in Tekton: a filter that is not exactly ``true`` stops the trigger, every overlay is
evaluated against the same input (one overlay does not see another's result), and an overlay's ``key``
is a dotted path (``a.b`` sets ``{"a": {"b": ...}}``; ``\\.`` is a literal dot) into the extensions this
interceptor returns, which are merged over the earlier ones key by key at the top level.

A filter that fails to evaluate (``body.pull_request`` on a push event) means the event is not one this
trigger wants; an overlay that fails is a failure of the trigger. Error messages are built from the
expression and the kind of failure only: cel-python's own messages can quote the whole input, headers
(and so tokens) included, and never leave this module.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import celpy
from celpy import celtypes
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError

from gitloop.spec.triggers import CelInterceptor, ResolvedListener
from gitloop.triggers.interceptors.base import InterceptorInput, Verdict
from gitloop.triggers.interceptors.cel_library import LibraryError, library
from gitloop.triggers.interceptors.cel_values import from_cel, to_cel

_LOCK = threading.Lock()
_ENVIRONMENT: list[celpy.Environment] = []
_QUOTED = re.compile(r"'([^']{1,100})'")
_DOT = re.compile(r"(?<!\\)\.")


class CelError(Exception):
    """A CEL expression that did not compile or evaluate; the message is safe to log and show."""


def _environment() -> celpy.Environment:
    if not _ENVIRONMENT:
        _ENVIRONMENT.append(celpy.Environment())
    return _ENVIRONMENT[0]


@lru_cache(maxsize=1024)
def _compiled(expression: str) -> Any:
    with _LOCK:
        try:
            return _environment().compile(expression)
        except CELParseError as exc:
            line, column = getattr(exc, "line", None), getattr(exc, "column", None)
            where = f" at line {line} column {column}" if line and column else ""
            raise CelError(f"invalid CEL expression {expression!r}: syntax error{where}") from None


def check(expression: str) -> None:
    """Raise ``CelError`` unless ``expression`` is valid CEL syntax."""
    _compiled(expression)


def _safe_message(exc: BaseException, expression: str) -> str:
    """What went wrong, in words that quote only the expression, never the input."""
    if isinstance(exc, LibraryError):
        return str(exc.args[0]) if exc.args else "a function failed"
    text = str(exc.args[0]) if exc.args else ""
    cause = exc.args[1] if isinstance(exc, CELEvalError) and len(exc.args) > 1 else type(exc)
    quoted = next((q for q in _QUOTED.findall(text) if q in expression), None)
    if "undeclared reference" in text:
        return f"undeclared reference to {quoted!r}" if quoted else "undeclared reference"
    if cause is KeyError or "no such member" in text or "no such key" in text:
        return f"no such key: {quoted!r}" if quoted else "no such key"
    if cause is IndexError:
        return "index out of range"
    if cause is ZeroDivisionError or "divide by zero" in text:
        return "division by zero"
    if cause is TypeError or "overload" in text:
        details = " ".join(str(a) for a in exc.args)
        hint = (
            " (JSON numbers are doubles in CEL, as in Tekton: write 1.0, or use int(...))"
            if "mixed numeric types" in details or ("DoubleType" in details and "IntType" in details)
            else ""
        )
        return f"no such overload{hint}"
    return "evaluation failed"


def evaluate(expression: str, activation: Mapping[str, Any], functions: Mapping[str, Any]) -> Any:
    """The value of ``expression``; ``CelError`` with a safe message if it does not compile or evaluate."""
    program = _environment().program(_compiled(expression), dict(functions))
    try:
        value = program.evaluate(dict(activation))
    except CELEvalError as exc:
        raise CelError(_safe_message(exc, expression)) from None
    except (RecursionError, MemoryError):
        raise CelError("the expression is too deep or too large to evaluate") from None
    except Exception as exc:  # cel-python raises plain Python errors for some bad inputs
        raise CelError(_safe_message(exc, expression)) from None
    if isinstance(value, CELEvalError):
        raise CelError(_safe_message(value, expression))
    return value


def set_path(target: dict[str, Any], key: str, value: Any) -> None:
    """Set ``value`` at the dotted ``key`` (``\\.`` is a literal dot), making objects on the way."""
    parts = [p.replace("\\.", ".") for p in _DOT.split(key)]
    for part in parts[:-1]:
        child = target.get(part)
        if not isinstance(child, dict):
            child = target[part] = {}
        target = child
    target[parts[-1]] = value


def process(interceptor: CelInterceptor, data: InterceptorInput) -> Verdict:
    view = data.view
    activation = {
        "body": view.cel_body,
        "header": view.cel_header,
        "extensions": to_cel(data.extensions),
        "requestURL": celtypes.StringType(view.event.url),
    }
    functions = library(data.secrets)
    if interceptor.filter:
        try:
            result = evaluate(interceptor.filter, activation, functions)
        except CelError as exc:
            return Verdict("filtered", f"filter {interceptor.filter!r} failed: {exc}")
        if not (isinstance(result, celtypes.BoolType) and bool(result)):
            return Verdict("filtered", f"filter {interceptor.filter!r} did not return true")
    extensions: dict[str, Any] = {}
    for overlay in interceptor.overlays:
        try:
            value = from_cel(evaluate(overlay.expression, activation, functions))
        except (CelError, TypeError) as exc:
            return Verdict("failed", f"overlay {overlay.key!r}: {overlay.expression!r} failed: {exc}")
        set_path(extensions, overlay.key, value)
    return Verdict("continue", extensions=extensions)


def check_listener(listener: ResolvedListener) -> None:
    """Raise ``SpecError`` at the first filter or overlay of ``listener`` that is not valid CEL."""
    for interceptor in listener.interceptors():
        if not isinstance(interceptor, CelInterceptor):
            continue
        checks = [(interceptor.filter, interceptor.where)] if interceptor.filter else []
        checks += [(o.expression, o.where) for o in interceptor.overlays]
        for expression, where in checks:
            try:
                check(expression)
            except CelError as exc:
                raise where.error(str(exc)) from None
