"""Byte sizes as people write them in flags and config: ``4194304``, ``4Mi``, ``512Ki``, ``10M``.

Binary suffixes (``Ki``, ``Mi``, ``Gi``) are powers of 1024 and decimal ones (``k``, ``M``, ``G``)
powers of 1000, as in Kubernetes quantities; a plain number is bytes.
"""

from __future__ import annotations

import re

_SIZE = re.compile(r"(\d+)(Ki|Mi|Gi|k|K|M|G)?")
_FACTORS = {
    None: 1,
    "Ki": 1 << 10,
    "Mi": 1 << 20,
    "Gi": 1 << 30,
    "k": 1000,
    "K": 1000,
    "M": 1000**2,
    "G": 1000**3,
}


def parse_size(text: str) -> int:
    """The number of bytes ``text`` means; ``ValueError`` saying what is accepted otherwise."""
    found = _SIZE.fullmatch(text.strip())
    if found is None:
        raise ValueError(f"{text!r} is not a size: use bytes or a number with Ki, Mi, Gi, k, M or G")
    return int(found.group(1)) * _FACTORS[found.group(2)]


def format_size(size: int) -> str:
    """``size`` bytes in the shortest exact binary spelling: ``4Mi``, ``1536Ki``, ``1000``."""
    for suffix, factor in (("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)):
        if size and size % factor == 0:
            return f"{size // factor}{suffix}"
    return str(size)
