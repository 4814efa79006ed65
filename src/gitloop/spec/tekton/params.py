"""Params and results: declarations (``ParamSpec``, ``ResultSpec``) and values (``Param``).

A value's type is inferred from its YAML shape, as Tekton infers it: a list is an ``array``, a mapping an
``object``, anything else a ``string`` (scalars such as ``true`` or ``3`` become their text). A
declaration without ``type`` takes it from ``properties`` or from its ``default``, else ``string``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from gitloop.errors import SpecError
from gitloop.spec.fields import Node, type_name
from gitloop.spec.tekton.names import OBJECT_NAME, PARAM_NAME, RESULT_NAME
from gitloop.spec.tekton.variables import exact_reference, find_references

ParamType = Literal["string", "array", "object"]
PARAM_TYPES: tuple[ParamType, ...] = ("string", "array", "object")
ParamValue: TypeAlias = str | tuple[str, ...] | Mapping[str, str]
"""A param or result value: a string, an array of strings, or an object of strings."""

Fail = Callable[[str, str], SpecError]
"""Makes the error for (field path, message)."""


def value_type(value: ParamValue) -> ParamType:
    """The type of a value, from its shape."""
    if isinstance(value, str):
        return "string"
    if isinstance(value, tuple | list):
        return "array"
    return "object"


@dataclass(frozen=True)
class ParamSpec:
    """A declared param of a Task or Pipeline."""

    name: str
    type: ParamType = "string"
    description: str = ""
    default: ParamValue | None = None
    properties: Mapping[str, str] = field(default_factory=dict)
    """Object params: key name -> type (always ``string``)."""
    enum: tuple[str, ...] = ()


@dataclass(frozen=True)
class Param:
    """A param value passed by a run, a pipeline task, a matrix or a resolver."""

    name: str
    value: ParamValue

    @property
    def type(self) -> ParamType:
        return value_type(self.value)


@dataclass(frozen=True)
class ResultSpec:
    """A declared result of a Task or of one step."""

    name: str
    type: ParamType = "string"
    description: str = ""
    properties: Mapping[str, str] = field(default_factory=dict)
    value: str | None = None
    """A Task result filled from a step result: ``$(steps.<step>.results.<result>)``."""


def _scalar_text(node: Node, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str | int | float):
        return str(value)
    raise node.error(f"must be a string, got {type_name(value)}")


def parse_value(node: Node) -> ParamValue:
    """A param value from its YAML shape."""
    if isinstance(node.value, list):
        return tuple(_scalar_text(item, item.value) for item in node.items())
    if isinstance(node.value, dict):
        return {key: _scalar_text(item, item.value) for key, item in node.entries()}
    return _scalar_text(node, node.value)


def _properties(node: Node, key: str = "properties") -> dict[str, str]:
    properties: dict[str, str] = {}
    for name, prop in node.entries(key):
        if prop.value is None:
            properties[name] = "string"
            continue
        prop.require_map().only(("type",))
        prop_type = prop.string("type", default="string")
        if prop_type != "string":
            raise prop.error(f"invalid type {prop_type!r}: object keys must be of type string", "type")
        properties[name] = prop_type
    return properties


def parse_param_specs(parent: Node, key: str = "params") -> tuple[ParamSpec, ...]:
    """Declared params, validated as Tekton's webhook does (names, types, defaults, enums)."""
    specs: list[ParamSpec] = []
    seen: dict[str, int] = {}
    for item in parent.items(key):
        item.require_map().only(("name", "type", "description", "default", "properties", "enum"))
        name = item.string("name", required=True)
        default_node = item.child("default")
        default = parse_value(default_node) if default_node is not None else None
        properties = _properties(item)
        declared = item.string("type")
        if declared and declared not in PARAM_TYPES:
            raise item.error(f"invalid value {declared!r}: must be one of string, array, object", "type")
        if declared:
            param_type: ParamType = declared
        elif item.has("properties"):
            param_type = "object"
        elif default is not None:
            param_type = value_type(default)
        else:
            param_type = "string"
        if default is not None and value_type(default) != param_type:
            raise item.error(
                f'"{param_type}" type does not match default value\'s type: "{value_type(default)}"',
                "default",
            )
        if param_type == "object":
            if not item.has("properties"):
                raise item.error(f"object param {name!r} must declare its keys in properties", "properties")
            bad = [k for k in (name, *properties) if not OBJECT_NAME.fullmatch(k)]
            if bad:
                raise item.error(
                    f"invalid object param or key names {bad}: letters, digits, '-' and '_' only, "
                    "starting with a letter or '_'",
                    "name",
                )
        elif not PARAM_NAME.fullmatch(name):
            raise item.error(
                f"invalid param name {name!r}: letters, digits, '-', '_' and '.' only, "
                "starting with a letter or '_'",
                "name",
            )
        enum = item.strings("enum")
        _check_enum(item, param_type, enum, default)
        folded = name.lower()
        if folded in seen:
            raise item.error(
                f"parameter {name!r} appears more than once (names are case insensitive)", "name"
            )
        seen[folded] = len(specs)
        specs.append(ParamSpec(name, param_type, item.string("description"), default, properties, enum))
    return tuple(specs)


def _check_enum(item: Node, param_type: ParamType, enum: tuple[str, ...], default: ParamValue | None) -> None:
    if not enum:
        return
    if param_type != "string":
        raise item.error("enum can only be set with string type param", "enum")
    duplicates = sorted({v for v in enum if enum.count(v) > 1})
    if duplicates:
        raise item.error(f"parameter enum value {duplicates[0]!r} appears more than once", "enum")
    if isinstance(default, str) and default and default not in enum:
        raise item.error(f"param default value {default!r} not in the enum list", "default")


def parse_params(parent: Node, key: str = "params") -> tuple[Param, ...]:
    """Param values; names must be unique."""
    params: list[Param] = []
    names: set[str] = set()
    for item in parent.items(key):
        item.require_map().only(("name", "value"))
        name = item.string("name", required=True)
        if name in names:
            raise item.error(f"parameter names must be unique, {name!r} appears more than once", "name")
        names.add(name)
        value = item.child("value")
        if value is None:
            raise item.error("required field is missing", "value")
        params.append(Param(name, parse_value(value)))
    return tuple(params)


def parse_results(parent: Node, key: str = "results", *, step: bool = False) -> tuple[ResultSpec, ...]:
    """Declared Task results (or step results when ``step``)."""
    results: list[ResultSpec] = []
    names: set[str] = set()
    allowed = ("name", "type", "description", "properties") + (() if step else ("value",))
    for item in parent.items(key):
        item.require_map().only(allowed)
        name = item.string("name", required=True)
        if not RESULT_NAME.fullmatch(name):
            raise item.error(
                f"invalid result name {name!r}: alphanumeric characters, '-', '_' and '.', "
                "starting and ending with an alphanumeric character",
                "name",
            )
        if name in names:
            raise item.error(f"result {name!r} appears more than once", "name")
        names.add(name)
        result_type = item.one_of("type", PARAM_TYPES, default="string")
        if result_type == "object" and not item.has("properties"):
            raise item.error(f"object result {name!r} must declare its keys in properties", "properties")
        value = _result_value(item) if not step else None
        results.append(ResultSpec(name, result_type, item.string("description"), _properties(item), value))
    return tuple(results)


def _result_value(item: Node) -> str | None:
    node = item.child("value")
    if node is None:
        return None
    value = node.as_str()
    ref = exact_reference(value)
    if ref is None or ref.namespace != "steps" or len(ref.name.split(".")) != 4:
        raise node.error(f"invalid value {value!r}: must be $(steps.<stepName>.results.<resultName>)")
    return value


def references_in(value: ParamValue) -> list[str]:
    """The strings of a value, for reference scanning."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return list(value.values())
    return list(value)


def bind_params(
    specs: Sequence[ParamSpec], params: Sequence[Param], fail: Fail, path: str = "spec.params"
) -> dict[str, ParamValue]:
    """Each declared param's value: the one passed, else the default. Extra params pass through.

    Fails on a missing param, a value of the wrong type, a value outside ``enum`` and an object missing
    keys. A value that is still a whole reference (``"$(params.x[*])"``) is not type-checked: its type is
    only known once substituted.
    """
    given = {p.name: p for p in params}
    index = {p.name: i for i, p in enumerate(params)}
    bound: dict[str, ParamValue] = {}
    for spec in specs:
        param = given.get(spec.name)
        at = f"{path}[{index[spec.name]}]" if param is not None else path
        if param is None:
            if spec.default is None:
                raise fail(at, f"missing parameter {spec.name!r} (declared without a default)")
            bound[spec.name] = spec.default
            continue
        value = param.value
        if isinstance(value, str) and exact_reference(value) is not None:
            bound[spec.name] = value
            continue
        if param.type != spec.type:
            raise fail(
                f"{at}.value",
                f"wrong param type for {spec.name!r}: declared {spec.type}, got {param.type}",
            )
        if spec.enum and isinstance(value, str) and not find_references(value) and value not in spec.enum:
            raise fail(
                f"{at}.value",
                f"param {spec.name!r} value {value!r} is not in the enum list {list(spec.enum)}",
            )
        if spec.type == "object" and isinstance(value, Mapping):
            merged = dict(spec.default) if isinstance(spec.default, Mapping) else {}
            merged.update(value)
            missing = sorted(set(spec.properties) - set(merged))
            if missing:
                raise fail(f"{at}.value", f"object param {spec.name!r} is missing keys {missing}")
            value = merged
        bound[spec.name] = value
    for param in params:
        bound.setdefault(param.name, param.value)
    return bound
