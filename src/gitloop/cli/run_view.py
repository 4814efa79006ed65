"""How a running PipelineRun or TaskRun looks in the terminal.

``PlainView`` prints every log line prefixed ``task/step`` and one line per TaskRun that ends (for
pipes, CI logs, tests). ``LiveView`` (a TTY) also keeps a compact table of the pipeline tasks at the
bottom of the screen, redrawn as they progress. ``rich`` is imported only for ``LiveView``.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Any

from gitloop.pipeline.state import PipelineRunState, TaskRunState

_ICONS = {"Succeeded": "✓", "Failed": "✗", "Skipped": "-", "Running": "…", "Pending": " ", "NotRun": " "}


def _duration(start: float | None, end: float | None) -> str:
    if start is None:
        return ""
    seconds = (end or time.time()) - start
    return f"{seconds:.1f}s" if seconds < 60 else f"{int(seconds // 60)}m{int(seconds % 60)}s"


class PlainView:
    """Prefixed log lines and one line per finished TaskRun."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stdout
        self._reported: set[str] = set()

    def log(self, source: str, line: str) -> None:
        self.stream.write(f"[{source}] {line}\n")
        self.stream.flush()

    def changed(self, state: PipelineRunState | TaskRunState) -> None:
        if isinstance(state, TaskRunState) and state.done and state.name not in self._reported:
            self._reported.add(state.name)
            c = state.condition
            took = _duration(state.start_time, state.completion_time)
            message = f": {c.message}" if not c.succeeded and c.message else ""
            self.stream.write(f"TaskRun {state.name} {c.reason} {took}{message}\n")
            self.stream.flush()

    def notice(self, message: str) -> None:
        sys.stderr.write(f"gitloop: {message}\n")
        sys.stderr.flush()

    def close(self) -> None:
        self.stream.flush()


class LiveView(PlainView):
    """``PlainView`` plus a live table of tasks (TTY only)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        super().__init__(stream)
        from rich.console import Console
        from rich.live import Live

        self._console = Console(file=self.stream)
        self._pipeline: PipelineRunState | None = None
        self._task: TaskRunState | None = None
        self._live = Live(
            console=self._console, refresh_per_second=8, transient=True, get_renderable=self._render
        )
        self._live.start()

    def _render(self) -> Any:
        from rich.table import Table

        table = Table(box=None, show_header=False, pad_edge=False)
        state = self._pipeline
        if state is not None:
            for task in state.tasks.values():
                children = [state.children[c] for c in task.children if c in state.children]
                start = min((c.start_time for c in children if c.start_time), default=None)
                end = (
                    max((c.completion_time or 0 for c in children), default=None)
                    if task.status not in ("Running",)
                    else None
                )
                detail = task.skip_reason or next(
                    (c.condition.reason for c in children if c.done and not c.condition.succeeded), ""
                )
                table.add_row(
                    _ICONS.get(task.status, "?"),
                    task.name,
                    task.status,
                    _duration(start, end or None),
                    detail,
                )
            table.add_row(
                "", "", state.condition.reason, _duration(state.start_time, state.completion_time), ""
            )
        elif self._task is not None:
            t = self._task
            for step in t.steps:
                table.add_row(step.phase, step.name, step.reason, _duration(step.started, step.finished), "")
            table.add_row("", t.name, t.condition.reason, _duration(t.start_time, t.completion_time), "")
        return table

    def log(self, source: str, line: str) -> None:
        from rich.text import Text

        self._console.print(Text(f"[{source}] ", style="dim") + Text(line))

    def changed(self, state: PipelineRunState | TaskRunState) -> None:
        if isinstance(state, PipelineRunState):
            self._pipeline = state
        elif self._pipeline is None:
            self._task = state

    def notice(self, message: str) -> None:
        self._console.print(f"[bold]gitloop:[/bold] {message}")

    def close(self) -> None:
        self._live.stop()
        state = self._pipeline
        if state is not None:
            self._console.print(self._render())
