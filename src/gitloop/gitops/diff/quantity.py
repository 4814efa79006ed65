"""Kubernetes resource quantities in their canonical spelling, so ``cpu: 0.5`` in git equals ``500m`` live.

The API server stores a quantity in canonical form and keeps the family of its suffix: binary
(``Ki`` … ``Ei``), decimal SI (``n u m k M G T P E``) or a decimal exponent (``e3``). Decimal values
use the largest multiple-of-three exponent that leaves an integer mantissa (``1000`` → ``1k``,
``1.5`` → ``1500m``); binary values the largest power of 1024 (``1024Mi`` → ``1Gi``), except that a
binary value below 1024 or not a whole number is written as decimal SI. Precision below nano is
rounded up, as Kubernetes does. Argo CD gets the same effect by re-marshalling known kinds through
their Go types; gitloop canonicalises the quantities of ``resources.limits`` and ``resources.requests``.
"""

from __future__ import annotations

import re
from decimal import ROUND_UP, Decimal, InvalidOperation
from typing import Any

_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_SUFFIX = {exponent: suffix for suffix, exponent in _DECIMAL.items()}
_BINARY_SUFFIX = {power: suffix for suffix, power in _BINARY.items()} | {0: ""}
_QUANTITY = re.compile(
    r"^(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))"
    r"(?:(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE](?P<exponent>[+-]?\d+))?$"
)


def canonical(value: Any) -> str | None:
    """The canonical spelling of a quantity (a string or a JSON number); ``None`` if it is not one."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    match = _QUANTITY.match(str(value).strip())
    if match is None:
        return None
    try:
        number = Decimal(match["number"])
    except InvalidOperation:
        return None
    suffix, exponent = match["suffix"], match["exponent"]
    if exponent is not None:
        return _decimal(number * Decimal(10) ** int(exponent), exponent_form=True)
    if suffix in _BINARY:
        return _binary(number * Decimal(1024) ** _BINARY[suffix])
    return _decimal(number * Decimal(10) ** _DECIMAL[suffix or ""], exponent_form=False)


def _decimal(amount: Decimal, *, exponent_form: bool) -> str:
    nanos = int((amount * Decimal(10) ** 9).to_integral_value(rounding=ROUND_UP))
    if nanos == 0:
        return "0"
    exponent = -9
    while nanos % 1000 == 0 and (exponent_form or exponent < 18):
        nanos //= 1000
        exponent += 3
    if exponent_form:
        return f"{nanos}e{exponent}" if exponent else str(nanos)
    return f"{nanos}{_DECIMAL_SUFFIX[exponent]}"


def _binary(amount: Decimal) -> str:
    if amount == 0:
        return "0"
    if abs(amount) < 1024 or amount != amount.to_integral_value():
        return _decimal(amount, exponent_form=False)
    whole = int(amount)
    power = 0
    while power < 6 and whole % 1024 == 0:
        whole //= 1024
        power += 1
    return f"{whole}{_BINARY_SUFFIX[power]}"
