"""Login throttling as Argo CD does it: after ``max_failures`` failed logins of one name within
``window`` seconds, further attempts are refused until the oldest of those failures leaves the window.
Pure and in memory (one per server process); at most ``max_names`` names are tracked, the least
recently failed dropped first."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable

MAX_NAMES = 10_000


class LoginThrottle:
    """Failed logins per name within a sliding window."""

    def __init__(
        self,
        max_failures: int = 5,
        window: float = 300.0,
        clock: Callable[[], float] = time.time,
        *,
        max_names: int = MAX_NAMES,
    ) -> None:
        if max_failures < 1 or window <= 0 or max_names < 1:
            raise ValueError("max_failures, window and max_names must be positive")
        self._max = max_failures
        self._window = window
        self._clock = clock
        self._max_names = max_names
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, name: str, now: float) -> deque[float]:
        times = self._failures.get(name)
        if times is None:
            return deque()
        while times and times[0] <= now - self._window:
            times.popleft()
        if not times:
            del self._failures[name]
        return times

    def check(self, name: str) -> float:
        """Seconds to wait before ``name`` may try again; 0 when it may try now."""
        now = self._clock()
        times = self._recent(name, now)
        if len(times) < self._max:
            return 0.0
        return max(0.0, times[-self._max] + self._window - now)

    def failed(self, name: str) -> None:
        """Count one failed login of ``name``."""
        now = self._clock()
        times = self._recent(name, now)
        times.append(now)
        while len(times) > self._max:
            times.popleft()
        self._failures[name] = times
        self._failures.move_to_end(name)
        while len(self._failures) > self._max_names:
            self._failures.popitem(last=False)

    def succeeded(self, name: str) -> None:
        """Forget ``name``'s failures (a successful login)."""
        self._failures.pop(name, None)

    def __len__(self) -> int:
        return len(self._failures)
