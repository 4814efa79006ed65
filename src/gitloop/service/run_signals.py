"""The OS side of the CI driver's ``Signals``: Ctrl-C, SIGHUP and SIGTERM of this process, installed in
the running event loop while a run driven from a terminal (``gitloop pipeline run``) is running."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator

from gitloop.pipeline.driver import INTERRUPTING, SIGINT


class ProcessSignals:
    """``gitloop.pipeline.driver.Signals`` on this process's signal handlers."""

    @contextlib.contextmanager
    def watch(self, on_signal: Callable[[str], None]) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        installed: list[signal.Signals] = []
        for name in (SIGINT, *INTERRUPTING):
            sig = signal.Signals[name]
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, on_signal, name)
                installed.append(sig)
        try:
            yield None
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)
