"""Cron schedules as Argo CD's sync windows read them (robfig/cron with the five standard fields), and
the fire times around an instant in a time zone.

Fields: minute (0-59), hour (0-23), day of month (1-31), month (1-12 or ``jan``-``dec``), day of week
(0-6 or ``sun``-``sat``, Sunday 0); each a comma list of ``*`` (or ``?``), ``a``, ``a-b``, with an
optional ``/step`` (``a/step`` runs from ``a`` to the field's end). Names are case-insensitive. When
day of month and day of week are both restricted (neither is ``*``) a day matches either; otherwise
it must match both. Descriptors (``@hourly``) and a seconds field are refused: Argo CD's window parser
does not accept them.

Fire times are instants whose wall-clock time in the zone matches: a time skipped by a daylight
saving jump never fires, a time repeated when clocks go back fires at both instants (robfig's
behaviour). ``previous`` and ``following`` search by day, so a schedule that never fires (``0 0 30 2
*``) gives ``None`` after eight years of days.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gitloop.errors import SpecError

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, MONTHS),
    ("day of week", 0, 6, WEEKDAYS),
)
_SEARCH_DAYS = 8 * 366
_SLACK = timedelta(hours=3)
"""More than any zone's daylight saving shift: how far wall time and instant order may disagree."""


@dataclass(frozen=True)
class Schedule:
    """A parsed five-field cron schedule."""

    text: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool
    """Day of month is ``*``: a day must then match day of week (and the reverse)."""
    any_weekday: bool

    def day_matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        by_day = day.day in self.days
        by_weekday = day.isoweekday() % 7 in self.weekdays
        if self.any_day or self.any_weekday:
            return by_day and by_weekday
        return by_day or by_weekday

    def previous(self, at: datetime, zone: ZoneInfo) -> datetime | None:
        """The last fire time at or before ``at`` (aware), in UTC; ``None`` if it never fired."""
        local = _wall(at, zone)
        best: datetime | None = None
        best_wall = local
        for wall in self._walls(local + _SLACK, -1):
            if best is not None and wall < best_wall - _SLACK:
                break
            for instant in _instants(wall, zone):
                if instant <= at and (best is None or instant > best):
                    best, best_wall = instant, wall
        return best

    def following(self, at: datetime, zone: ZoneInfo) -> datetime | None:
        """The first fire time after ``at`` (aware), in UTC; ``None`` if it never fires."""
        local = _wall(at, zone)
        best: datetime | None = None
        best_wall = local
        for wall in self._walls(local - _SLACK, 1):
            if best is not None and wall > best_wall + _SLACK:
                break
            for instant in _instants(wall, zone):
                if instant > at and (best is None or instant < best):
                    best, best_wall = instant, wall
        return best

    def _walls(self, start: datetime, step: int) -> Iterator[datetime]:
        """Matching wall-clock minutes from ``start`` on: descending (``step`` -1) or ascending (1)."""
        start = start.replace(second=0, microsecond=0)
        hours = self.hours if step > 0 else tuple(reversed(self.hours))
        minutes = self.minutes if step > 0 else tuple(reversed(self.minutes))
        day = start.date()
        for _ in range(_SEARCH_DAYS):
            if self.day_matches(day):
                for hour in hours:
                    for minute in minutes:
                        wall = datetime(day.year, day.month, day.day, hour, minute)
                        if (wall - start).total_seconds() * step >= 0:
                            yield wall
            day += timedelta(days=step)


def _wall(at: datetime, zone: ZoneInfo) -> datetime:
    if at.tzinfo is None:
        raise ValueError("an aware datetime is required")
    return at.astimezone(zone).replace(tzinfo=None)


def _instants(wall: datetime, zone: ZoneInfo) -> list[datetime]:
    """The UTC instants whose wall-clock time in ``zone`` is ``wall`` (none in a gap, two in an overlap)."""
    found = []
    for fold in (0, 1):
        instant = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == wall and instant not in found:
            found.append(instant)
    return found


@functools.lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (``""``: UTC); ``SpecError`` for an unknown one."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SpecError(f"unknown time zone {name!r}: use an IANA name such as UTC or Europe/Berlin") from exc


@functools.lru_cache(maxsize=1024)
def parse_schedule(text: str) -> Schedule:
    """A five-field cron schedule; ``SpecError`` saying which field is wrong and why."""
    stripped = text.strip()
    if stripped.startswith("@"):
        raise SpecError(
            f"schedule {text!r}: descriptors such as @hourly are not accepted by sync windows; "
            "write the five fields (minute hour day-of-month month day-of-week)"
        )
    parts = stripped.split()
    if len(parts) != len(_FIELDS):
        raise SpecError(
            f"schedule {text!r}: expected 5 fields (minute hour day-of-month month day-of-week), "
            f"got {len(parts)}"
        )
    values = []
    stars = []
    for part, (label, low, high, names) in zip(parts, _FIELDS, strict=True):
        found, star = _field(part, label, low, high, names, text)
        values.append(found)
        stars.append(star)
    return Schedule(
        text=stripped,
        minutes=tuple(sorted(values[0])),
        hours=tuple(sorted(values[1])),
        days=frozenset(values[2]),
        months=frozenset(values[3]),
        weekdays=frozenset(values[4]),
        any_day=stars[2],
        any_weekday=stars[4],
    )


def _field(
    part: str, label: str, low: int, high: int, names: tuple[str, ...], text: str
) -> tuple[set[int], bool]:
    found: set[int] = set()
    star = False
    for item in part.split(","):
        span, _, step_text = item.partition("/")
        step = 1
        if step_text:
            step = _number(step_text, label, text)
            if step <= 0:
                raise SpecError(f"schedule {text!r}: {label} step must be positive, got {step_text!r}")
        if span in ("*", "?"):
            start, end = low, high
            star = star or step == 1
        else:
            first, dash, last = span.partition("-")
            start = _value(first, label, low, high, names, text)
            end = _value(last, label, low, high, names, text) if dash else (high if step_text else start)
            if start > end:
                raise SpecError(f"schedule {text!r}: {label} range {span!r} runs backwards")
        found.update(range(start, end + 1, step))
    return found, star


def _value(word: str, label: str, low: int, high: int, names: tuple[str, ...], text: str) -> int:
    lowered = word.lower()
    if lowered in names:
        return names.index(lowered) + low
    number = _number(word, label, text)
    if not low <= number <= high:
        raise SpecError(f"schedule {text!r}: {label} {number} is out of range {low}-{high}")
    return number


def _number(word: str, label: str, text: str) -> int:
    if not word.isdigit():
        raise SpecError(f"schedule {text!r}: {label} {word!r} is not a number")
    return int(word)
