"""Execution of a parsed Go template against JSON-shaped data, with Go's evaluation rules.

Field access, ``missingkey``, variables and their scopes, ``if``/``with``/``range`` (lists, maps in key
order, integers, ``break``/``continue``), pipelines passing the previous value as the final argument,
short-circuit ``and``/``or``, and named templates. Output and loop work are bounded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from gitloop.spec.gotemplate import nodes as n
from gitloop.spec.gotemplate.values import (
    NO_VALUE,
    FuncError,
    is_int,
    is_number,
    output_text,
    truth,
    type_name,
)

MAX_OUTPUT: Final = 1 << 20
MAX_STEPS: Final = 1_000_000
MAX_DEPTH: Final = 100
MAX_VALUE_NODES: Final = 100_000
_NO_FINAL: Final = object()


@dataclass(frozen=True)
class Func:
    """A template function: ``params`` are kinds (any, str, int, float, bool, map); ``variadic`` the rest's."""

    impl: Callable[..., Any]
    params: tuple[str, ...] = ()
    variadic: str | None = None


class ExecFailure(Exception):
    def __init__(self, message: str, node: Any, template: str) -> None:
        super().__init__(message)
        self.node = node
        self.template = template


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class Executor:
    def __init__(
        self,
        *,
        name: str,
        defines: Mapping[str, tuple[Any, ...]],
        funcs: Mapping[str, Func],
        missing_key: str,
    ) -> None:
        self._template = name
        self._defines = defines
        self._funcs = funcs
        self._missing_error = missing_key == "error"
        self._out: list[str] = []
        self._size = 0
        self._steps = 0
        self._depth = 0
        self._vars: list[list[Any]] = []
        self._node: Any = None

    def run(self, body: tuple[Any, ...], data: Any) -> str:
        dot = NO_VALUE if data is None else data
        self._vars = [["$", dot]]
        self._walk_list(dot, body)
        return "".join(self._out)

    def _fail(self, message: str) -> ExecFailure:
        return ExecFailure(message, self._node, self._template)

    def _write(self, text: str) -> None:
        self._size += len(text)
        if self._size > MAX_OUTPUT:
            raise self._fail(f"output exceeds {MAX_OUTPUT} characters")
        self._out.append(text)

    def _step(self) -> None:
        self._steps += 1
        if self._steps > MAX_STEPS:
            raise self._fail(f"more than {MAX_STEPS} loop iterations")

    # -- statements
    def _walk_list(self, dot: Any, body: tuple[Any, ...]) -> None:
        for node in body:
            self._walk(dot, node)

    def _walk(self, dot: Any, node: Any) -> None:
        if isinstance(node, n.Text):
            self._write(node.text)
        elif isinstance(node, n.Action):
            value = self._pipeline(dot, node.pipe)
            if not node.pipe.decl:
                self._write(output_text(value))
        elif isinstance(node, n.Branch):
            mark = len(self._vars)
            try:
                if node.keyword == "range":
                    self._range(dot, node)
                else:
                    value = self._pipeline(dot, node.pipe)
                    if truth(value):
                        self._walk_list(value if node.keyword == "with" else dot, node.body)
                    else:
                        self._walk_list(dot, node.else_list)
            finally:
                del self._vars[mark:]
        elif isinstance(node, n.Loop):
            raise _Break if node.keyword == "break" else _Continue
        elif isinstance(node, n.TemplateCall):
            self._call_template(dot, node)

    def _range(self, dot: Any, node: n.Branch) -> None:
        self._node = node
        value = self._pipeline_value(dot, node.pipe)
        if value is NO_VALUE or value is None:
            items: list[tuple[Any, Any]] = []
        elif isinstance(value, list | tuple):
            items = list(enumerate(value))
        elif isinstance(value, dict):
            items = [(k, value[k]) for k in sorted(value, key=str)]
        elif is_int(value):
            if len(node.pipe.decl) > 1:
                raise self._fail(f"can't use {value} to iterate over more than one variable")
            items = [(i, i) for i in range(max(value, 0))]
        else:
            raise self._fail(f"range can't iterate over {output_text(value)}")
        if not items:
            self._walk_list(dot, node.else_list)
            return
        mark = len(self._vars)
        for key, element in items:
            self._step()
            del self._vars[mark:]
            decl = node.pipe.decl
            if len(decl) == 1:
                self._declare(decl[0], element, node.pipe.is_assign)
            elif len(decl) == 2:
                self._declare(decl[0], key, node.pipe.is_assign)
                self._declare(decl[1], element, node.pipe.is_assign)
            try:
                self._walk_list(element, node.body)
            except _Continue:
                continue
            except _Break:
                break

    def _call_template(self, dot: Any, node: n.TemplateCall) -> None:
        self._node = node
        body = self._defines.get(node.name)
        if body is None:
            raise self._fail(f'template "{node.name}" not defined')
        new_dot = self._pipeline(dot, node.pipe) if node.pipe else NO_VALUE
        if self._depth >= MAX_DEPTH:
            raise self._fail(f"exceeded maximum template depth ({MAX_DEPTH})")
        saved_vars, saved_template = self._vars, self._template
        self._vars, self._template = [["$", new_dot]], node.name
        self._depth += 1
        try:
            self._walk_list(new_dot, body)
        finally:
            self._depth -= 1
            self._vars, self._template = saved_vars, saved_template

    # -- variables
    def _declare(self, name: str, value: Any, is_assign: bool) -> None:
        if not is_assign:
            self._vars.append([name, value])
            return
        for entry in reversed(self._vars):
            if entry[0] == name:
                entry[1] = value
                return
        raise self._fail(f"undefined variable: {name}")

    def _var(self, name: str) -> Any:
        for entry in reversed(self._vars):
            if entry[0] == name:
                return entry[1]
        raise self._fail(f"undefined variable: {name}")

    # -- pipelines and commands
    def _pipeline(self, dot: Any, pipe: n.Pipe) -> Any:
        value = self._pipeline_value(dot, pipe)
        for name in pipe.decl:
            self._declare(name, value, pipe.is_assign)
        return value

    def _pipeline_value(self, dot: Any, pipe: n.Pipe) -> Any:
        value: Any = _NO_FINAL
        for cmd in pipe.cmds:
            value = self._command(dot, cmd, value)
            if value is None:
                value = NO_VALUE
        return value

    def _command(self, dot: Any, cmd: n.Command, final: Any) -> Any:
        first = cmd.args[0]
        if isinstance(first, n.Field):
            self._node = first
            return self._field_chain(dot, first.names, cmd.args, final)
        if isinstance(first, n.Variable):
            self._node = first
            value = self._var(first.names[0])
            if len(first.names) == 1:
                self._not_a_function(cmd.args, final)
                return value
            return self._field_chain(value, first.names[1:], cmd.args, final)
        if isinstance(first, n.Chain):
            self._node = first
            if isinstance(first.node, n.Nil):
                raise self._fail(f"indirection through explicit nil in {first}")
            value = self._arg(dot, first.node, "any")
            return self._field_chain(value, first.names, cmd.args, final)
        if isinstance(first, n.Identifier):
            return self._function(dot, first, cmd.args, final)
        self._node = first
        self._not_a_function(cmd.args, final)
        if isinstance(first, n.Pipe):
            return self._pipeline_value(dot, first)
        if isinstance(first, n.Literal):
            return first.value
        if isinstance(first, n.Dot):
            return dot
        raise self._fail("nil is not a command")

    def _not_a_function(self, args: tuple[Any, ...], final: Any) -> None:
        if len(args) > 1 or final is not _NO_FINAL:
            raise self._fail(f"can't give argument to non-function {args[0]}")

    def _field_chain(self, receiver: Any, names: tuple[str, ...], args: tuple[Any, ...], final: Any) -> Any:
        for name in names[:-1]:
            receiver = self._field(receiver, name)
        if len(args) > 1 or final is not _NO_FINAL:
            raise self._fail(f"{names[-1]} is not a method but has arguments")
        return self._field(receiver, names[-1])

    def _field(self, receiver: Any, name: str) -> Any:
        if receiver is NO_VALUE:
            if self._missing_error:
                raise self._fail(f"nil data; no entry for key {name!r}".replace("'", '"'))
            return NO_VALUE
        if receiver is None:
            raise self._fail(f"nil pointer evaluating interface {{}}.{name}")
        if isinstance(receiver, dict):
            if name in receiver:
                return receiver[name]
            if self._missing_error:
                raise self._fail(f'map has no entry for key "{name}"')
            return NO_VALUE
        raise self._fail(f"can't evaluate field {name} in type {type_name(receiver)}")

    def _function(self, dot: Any, ident: n.Identifier, args: tuple[Any, ...], final: Any) -> Any:
        self._node = ident
        func = self._funcs[ident.name]
        arg_nodes = args[1:]
        count = len(arg_nodes) + (0 if final is _NO_FINAL else 1)
        fixed = len(func.params)
        if count < fixed or (func.variadic is None and count != fixed):
            want = f"at least {fixed}" if func.variadic is not None else str(fixed)
            raise self._fail(f"wrong number of args for {ident.name}: want {want} got {count}")
        if ident.name in ("and", "or"):
            return self._and_or(dot, ident, arg_nodes, final)
        kinds = [*func.params, *[func.variadic or "any"] * (count - fixed)]
        values = [self._arg(dot, node, kinds[i]) for i, node in enumerate(arg_nodes)]
        if final is not _NO_FINAL:
            values.append(self._check(final, kinds[-1]))
        self._node = ident
        try:
            return self._bounded(func.impl(*values), ident.name)
        except FuncError as exc:
            raise self._fail(f"error calling {ident.name}: {exc}") from None
        except (ValueError, TypeError, IndexError, KeyError, ZeroDivisionError, OverflowError) as exc:
            raise self._fail(f"error calling {ident.name}: {exc}") from None

    def _bounded(self, result: Any, name: str) -> Any:
        """A function's result within the bounds: a string up to MAX_OUTPUT characters, a list or map up to
        MAX_VALUE_NODES values (counting shared ones each time), so no template doubles its way out."""
        if isinstance(result, str):
            if len(result) > MAX_OUTPUT:
                raise self._fail(f"{name} made a string longer than {MAX_OUTPUT} characters")
        elif isinstance(result, list | tuple | dict):
            count = 0
            stack = [result]
            while stack:
                value = stack.pop()
                count += 1
                if count > MAX_VALUE_NODES:
                    raise self._fail(f"{name} made a value of more than {MAX_VALUE_NODES} items")
                if isinstance(value, dict):
                    stack.extend(value.values())
                elif isinstance(value, list | tuple):
                    stack.extend(value)
        return result

    def _and_or(self, dot: Any, ident: n.Identifier, arg_nodes: tuple[Any, ...], final: Any) -> Any:
        value: Any = NO_VALUE
        for node in arg_nodes:
            value = self._arg(dot, node, "any")
            if truth(value) == (ident.name == "or"):
                return value
        return final if final is not _NO_FINAL else value

    def _arg(self, dot: Any, node: Any, kind: str) -> Any:
        self._node = node
        if isinstance(node, n.Nil):
            if kind in ("any", "map"):
                return None
            raise self._fail(f"cannot assign nil to {_GO_KIND[kind]}")
        if isinstance(node, n.Pipe):
            value = self._pipeline_value(dot, node)
        elif isinstance(node, n.Identifier):
            value = self._function(dot, node, (node,), _NO_FINAL)
        else:
            value = self._command(dot, n.Command(node.pos, (node,)), _NO_FINAL)
        self._node = node
        return self._check(value, kind)

    def _check(self, value: Any, kind: str) -> Any:
        if kind == "any":
            return None if value is NO_VALUE else value
        if value is NO_VALUE or value is None:
            if kind == "map":
                return None
            raise self._fail(f"invalid value; expected {_GO_KIND[kind]}")
        ok = {
            "str": isinstance(value, str),
            "int": is_int(value),
            "float": is_number(value),
            "bool": isinstance(value, bool),
            "map": isinstance(value, dict),
        }[kind]
        if not ok:
            raise self._fail(f"wrong type for value; expected {_GO_KIND[kind]}; got {type_name(value)}")
        return float(value) if kind == "float" else value


_GO_KIND: Final = {
    "str": "string",
    "int": "int",
    "float": "float64",
    "bool": "bool",
    "map": "map[string]interface {}",
    "any": "interface {}",
}
