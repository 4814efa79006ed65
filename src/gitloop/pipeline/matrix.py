"""Matrix fan-out: the combinations of a pipeline task's ``matrix``, as Tekton makes them. Pure.

``params`` give every combination of their (array) values, the first param varying slowest. Each
``include`` entry is then merged into every combination whose values agree with the entry's params
of the same names, adding its other params; an entry that matches no combination (because it would
change one of their values) becomes a combination of its own. Without ``params``, each ``include``
entry is one combination.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from gitloop.spec.tekton import Param


@dataclass(frozen=True)
class Combination:
    """One TaskRun of a matrixed task: its params and the ``include`` name that made it, if any."""

    params: tuple[Param, ...]
    name: str = ""


def combinations(
    params: Sequence[tuple[str, Sequence[str]]], include: Sequence[tuple[str, Sequence[tuple[str, str]]]]
) -> list[Combination]:
    """The combinations of ``params`` (name, values) and ``include`` (name, [(param, value)])."""
    names = [name for name, _ in params]
    combos: list[dict[str, str]] = []
    labels: list[str] = []
    if params:
        for values in itertools.product(*(list(v) for _, v in params)):
            combos.append(dict(zip(names, values, strict=True)))
            labels.append("")
    generated = len(combos)
    for entry_name, entry in include:
        entry_params = dict(entry)
        matched = False
        for i in range(generated):
            combo = combos[i]
            if all(combo[k] == v for k, v in entry_params.items() if k in names):
                combo.update({k: v for k, v in entry_params.items() if k not in names})
                labels[i] = labels[i] or entry_name
                matched = True
        if not matched:
            combos.append(dict(entry_params))
            labels.append(entry_name)
    return [
        Combination(tuple(Param(k, v) for k, v in combo.items()), label)
        for combo, label in zip(combos, labels, strict=True)
    ]
