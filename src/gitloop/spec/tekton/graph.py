"""Cycles among pipeline tasks, found with ``graphlib`` and named task by task."""

from __future__ import annotations

import graphlib
from collections.abc import Iterable, Mapping, Sequence


def find_cycle(dependencies: Mapping[str, Iterable[str]], order: Sequence[str] = ()) -> list[str] | None:
    """A cycle as ``[a, b, ..., a]`` where each task runs before the next, or ``None``.

    ``dependencies`` maps each task to the tasks it waits for. The cycle starts at the one of its tasks
    that comes first in ``order`` (declaration order), so the same pipeline always names the same cycle.
    """
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for task, before in dependencies.items():
        sorter.add(task, *before)
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        cycle: list[str] = list(exc.args[1])[:-1]
        rank = {name: i for i, name in enumerate(order)}
        start = min(range(len(cycle)), key=lambda i: (rank.get(cycle[i], len(rank)), cycle[i]))
        cycle = cycle[start:] + cycle[:start]
        return [*cycle, cycle[0]]
    return None


def describe_cycle(cycle: Sequence[str]) -> str:
    """``a -> b -> a`` for an error message."""
    return " -> ".join(cycle)
