"""Go ``time.ParseDuration`` for the durations of every spec family (Tekton timeouts, Argo CD retry
backoff): ``1h0m0s``, ``1h30m``, ``90s``, ``1.5h``, ``300ms``, ``0``; and the command-line spans that
also take whole days (``30d``: token lifetimes, ``--since``, windows) as argocd's flags do."""

from __future__ import annotations

import datetime as dt
import re

from gitloop.errors import UsageError

_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,  # micro sign
    "μs": 1e-6,  # Greek mu
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(text: str) -> float:
    """Seconds in ``text``; ``ValueError`` unless it is a Go duration. ``"0"`` is zero (no timeout)."""
    original = text
    sign = 1.0
    if text and text[0] in "+-":
        sign = -1.0 if text[0] == "-" else 1.0
        text = text[1:]
    if text == "0":
        return 0.0
    if not text:
        raise ValueError(f"invalid duration {original!r}")
    total = 0.0
    position = 0
    while position < len(text):
        match = _PART.match(text, position)
        if match is None:
            raise ValueError(
                f"invalid duration {original!r}: expected a number and a unit (h, m, s, ms, us, ns)"
            )
        total += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    return sign * total


def parse_span(text: str) -> float:
    """Seconds in ``text``: whole days (``30d``) or a Go duration; ``ValueError`` otherwise."""
    if text.endswith("d") and text[:-1].isdigit():
        return int(text[:-1]) * 86400.0
    return parse_duration(text)


def parse_since(text: str, *, now: float, flag: str = "--since") -> float:
    """Seconds since the epoch: a span back from ``now`` (``30d``, ``12h``, ``90m``) or an RFC 3339 time
    with its offset; ``UsageError`` naming ``flag`` otherwise."""
    try:
        return now - parse_span(text)
    except ValueError:
        pass
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(f"{flag} {text!r}: expected a duration (30d, 12h, 90m) or an RFC 3339 time") from exc
    if moment.tzinfo is None:
        raise UsageError(f"{flag} {text!r}: an RFC 3339 time needs its offset (Z or +hh:mm)")
    return moment.timestamp()


def format_duration(seconds: float) -> str:
    """``seconds`` the way Go prints a duration: ``1h0m0s``, ``1m30s``, ``45s``, ``0s``."""
    if seconds == 0:
        return "0s"
    sign = "-" if seconds < 0 else ""
    rest = abs(seconds)
    hours, rest = divmod(rest, 3600)
    minutes, rest = divmod(rest, 60)
    secs = f"{rest:g}s"
    if hours:
        return f"{sign}{int(hours)}h{int(minutes)}m{secs}"
    if minutes:
        return f"{sign}{int(minutes)}m{secs}"
    return f"{sign}{secs}"
