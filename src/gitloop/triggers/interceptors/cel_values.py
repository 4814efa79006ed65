"""Between decoded JSON and CEL values, in both directions, the way Tekton's CEL interceptor converts them.

Into CEL, every JSON number becomes a ``double``, as Tekton documents ("JSON numbers are decoded to CEL
double values"), so ``body.count + 1.0`` and ``int(body.count) + 2`` work and ``body.count + 1`` does not, while
comparisons mix numbers freely (``body.number == 42``), as in cel-go (see ``cel_library``). Out of
CEL (overlay results), bytes become base64 text, as Go's JSON encoder writes them.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from celpy import celtypes


def to_cel(value: Any) -> Any:
    """A decoded JSON value as CEL values."""
    if value is None:
        return None
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, int | float):
        return celtypes.DoubleType(float(value))
    if isinstance(value, str):
        return celtypes.StringType(value)
    if isinstance(value, Mapping):
        return celtypes.MapType({celtypes.StringType(str(k)): to_cel(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return celtypes.ListType([to_cel(v) for v in value])
    raise TypeError(f"cannot use a {type(value).__name__} in CEL")


def from_cel(value: Any) -> Any:
    """A CEL value as plain JSON-able Python (``TypeError`` for a value JSON cannot hold)."""
    if value is None or isinstance(value, celtypes.NullType):
        return None
    if isinstance(value, celtypes.BoolType | bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return {str(k): from_cel(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [from_cel(v) for v in value]
    if isinstance(value, celtypes.TimestampType | celtypes.DurationType):
        return str(value)
    raise TypeError(f"a CEL {type(value).__name__} cannot be stored in extensions")
