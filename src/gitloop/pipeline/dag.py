"""The order of a Pipeline's tasks: a DAG of ``runAfter`` edges and result-reference edges. Pure.

``Dag.build(spec)`` links each task to the tasks it names in ``runAfter`` (ordering edges) and to the
tasks whose results its params, matrix, ``when`` expressions or embedded steps use (result edges). A
cycle is a ``SpecError`` naming it: ``cycle detected in task order: a -> b -> a``. ``finally`` tasks are
not in the DAG; they all start once every task of the DAG has settled.

``ready`` answers which tasks may start. Whether a task should start at all once a parent has failed
or been skipped is the engine's rule (Tekton: a ``stopAndFail`` failure stops scheduling; a parent
skipped by its own ``when`` lets ordering dependents run but skips result dependents); the DAG keeps
both kinds of parents apart so the engine can apply it.
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass

from gitloop.errors import PipelineError, SpecError
from gitloop.spec.tekton.graph import describe_cycle, find_cycle
from gitloop.spec.tekton.pipeline import PipelineSpec


@dataclass(frozen=True)
class Dag:
    """Tasks in declaration order and, for each, the tasks it waits for."""

    tasks: tuple[str, ...]
    run_after: Mapping[str, frozenset[str]]
    """Ordering edges: task -> the tasks named in its ``runAfter``."""
    uses_results_of: Mapping[str, frozenset[str]]
    """Result edges: task -> the tasks whose results it uses."""

    @classmethod
    def build(cls, spec: PipelineSpec) -> Dag:
        """The DAG of ``spec.tasks``."""
        return cls.of(
            [t.name for t in spec.tasks],
            {t.name: t.run_after for t in spec.tasks},
            {t.name: t.result_dependencies() for t in spec.tasks},
        )

    @classmethod
    def of(
        cls,
        tasks: Iterable[str],
        run_after: Mapping[str, Iterable[str]],
        uses_results_of: Mapping[str, Iterable[str]] | None = None,
    ) -> Dag:
        """A DAG from plain edges; unknown tasks and cycles are ``SpecError``s."""
        names = tuple(tasks)
        known = set(names)
        results = uses_results_of or {}
        for task, parents in (*run_after.items(), *results.items()):
            for parent in parents:
                if parent not in known:
                    raise SpecError(
                        f"task {task} depends on {parent} but {parent} wasn't present in Pipeline",
                        field="spec.tasks",
                    )
        dag = cls(
            names,
            {t: frozenset(run_after.get(t, ())) for t in names},
            {t: frozenset(results.get(t, ())) for t in names},
        )
        cycle = find_cycle({t: dag.parents(t) for t in names}, names)
        if cycle is not None:
            raise SpecError(f"cycle detected in task order: {describe_cycle(cycle)}", field="spec.tasks")
        return dag

    def parents(self, task: str) -> frozenset[str]:
        """Every task ``task`` waits for."""
        return self.run_after[task] | self.uses_results_of[task]

    def children(self, task: str) -> frozenset[str]:
        """The tasks that wait for ``task`` directly."""
        return frozenset(t for t in self.tasks if task in self.parents(t))

    def descendants(self, task: str) -> frozenset[str]:
        """Every task that waits for ``task``, directly or not."""
        found: set[str] = set()
        todo = [task]
        while todo:
            for child in self.children(todo.pop()):
                if child not in found:
                    found.add(child)
                    todo.append(child)
        return frozenset(found)

    def roots(self) -> tuple[str, ...]:
        """The tasks that wait for nothing, in declaration order."""
        return tuple(t for t in self.tasks if not self.parents(t))

    def levels(self) -> tuple[tuple[str, ...], ...]:
        """Tasks in waves: each wave needs only earlier waves; declaration order within a wave."""
        sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter(
            {t: self.parents(t) for t in self.tasks}
        )
        sorter.prepare()
        rank = {name: i for i, name in enumerate(self.tasks)}
        waves: list[tuple[str, ...]] = []
        while sorter.is_active():
            wave = tuple(sorted(sorter.get_ready(), key=rank.__getitem__))
            sorter.done(*wave)
            waves.append(wave)
        return tuple(waves)

    def order(self) -> tuple[str, ...]:
        """One topological order: the waves of ``levels`` one after the other."""
        return tuple(t for wave in self.levels() for t in wave)

    def ready(
        self,
        succeeded: Set[str],
        skipped: Set[str] = frozenset(),
        failed: Set[str] = frozenset(),
        running: Set[str] = frozenset(),
    ) -> tuple[str, ...]:
        """The tasks that may start now, in declaration order.

        A task may start when it has not started (not settled, not ``running``) and every task it waits
        for has settled: succeeded, skipped or failed. A settled task whose parents have not all settled
        is an inconsistent state and a ``PipelineError``.
        """
        settled = set(succeeded) | set(skipped) | set(failed)
        unknown = sorted((settled | set(running)) - set(self.tasks))
        if unknown:
            raise PipelineError(f"tasks not in the pipeline: {', '.join(unknown)}")
        for task in sorted(settled | set(running)):
            waiting = sorted(self.parents(task) - settled)
            if waiting:
                raise PipelineError(
                    f"invalid state: task {task} has started but {', '.join(waiting)} it waits for have not settled"
                )
        return tuple(
            t for t in self.tasks if t not in settled and t not in running and self.parents(t) <= settled
        )

    def done(
        self, succeeded: Set[str], skipped: Set[str] = frozenset(), failed: Set[str] = frozenset()
    ) -> bool:
        """Whether every task has settled (so ``finally`` tasks may start)."""
        return set(self.tasks) <= set(succeeded) | set(skipped) | set(failed)
