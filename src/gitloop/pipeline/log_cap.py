"""How much of a step's output the store keeps: the per-step cap and the cut of overly long lines.

Every line costs its UTF-8 bytes plus its newline. A line longer than ``max_line`` bytes is kept cut,
marked ``[gitloop: line cut after N bytes; M more bytes dropped]``. Once a line would take the step
past ``limit`` bytes, nothing more of the step is kept; its end adds one marker line
``[gitloop: log truncated after N bytes; M more bytes dropped]``. ``limit`` 0 keeps everything (lines
are still cut). Only what is stored is capped: the step's output is always read to its end.
"""

from __future__ import annotations

DEFAULT_LOG_LIMIT = 4 << 20
"""Bytes of log text kept per step unless configured (``--log-limit``, ``logs.maxBytesPerStep``)."""

MAX_LINE = 64 << 10
"""Bytes of one line kept; the rest of the line is dropped."""


def truncated_marker(kept: int, dropped: int) -> str:
    return f"[gitloop: log truncated after {kept} bytes; {dropped} more bytes dropped]"


def cut_marker(kept: int, dropped: int) -> str:
    return f" [gitloop: line cut after {kept} bytes; {dropped} more bytes dropped]"


class StepLogCap:
    """The accounting of one step's (one source's) stored output."""

    def __init__(self, limit: int = DEFAULT_LOG_LIMIT, max_line: int = MAX_LINE) -> None:
        if limit < 0 or max_line < 1:
            raise ValueError(f"a log limit must be 0 (none) or positive, got {limit}; max line {max_line}")
        self.limit = limit
        self.max_line = max_line
        self.kept = 0
        self.dropped = 0

    @property
    def truncated(self) -> bool:
        return self.dropped > 0

    def admit(self, line: str) -> str | None:
        """The text to store for ``line`` (cut when too long), or ``None`` when the cap drops it."""
        if self.dropped:
            self.dropped += _utf8_size(line) + 1
            return None
        stored = line
        if len(line) * 4 > self.max_line:  # may be longer than max_line bytes: measure exactly
            raw = line.encode("utf-8", errors="surrogatepass")
            if len(raw) > self.max_line:
                head = raw[: self.max_line].decode("utf-8", errors="ignore")
                stored = head + cut_marker(self.max_line, len(raw) - self.max_line)
        cost = _utf8_size(stored) + 1
        if self.limit and self.kept + cost > self.limit:
            self.dropped = _utf8_size(line) + 1
            return None
        self.kept += cost
        return stored

    def end(self) -> str | None:
        """The marker line to store when the step ends, if anything was dropped."""
        return truncated_marker(self.kept, self.dropped) if self.dropped else None


def _utf8_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", errors="surrogatepass"))
