"""Sprig's ``semverCompare`` (Masterminds semver v3 constraints): ``=``, ``!=``, ``>``, ``>=``, ``<``,
``<=``, ``~`` (patch-level), ``^`` (compatible), wildcards (``1.2.x``, ``*``), hyphen ranges
(``1.2 - 1.4.5``), ``,`` or space for AND, ``||`` for OR. As Masterminds does, a pre-release version only
satisfies a constraint that names a pre-release."""

from __future__ import annotations

import re
from typing import Final

from gitloop.spec.gotemplate.execute import Func
from gitloop.spec.gotemplate.values import FuncError

_VERSION: Final = re.compile(
    r"v?(?P<major>0|[1-9]\d*)(?:\.(?P<minor>0|[1-9]\d*))?(?:\.(?P<patch>0|[1-9]\d*))?"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?"
)
_PART: Final = r"(?:0|[1-9]\d*|[xX*])"
_CONSTRAINT: Final = re.compile(
    rf"(?P<op>!=|>=|=>|<=|=<|~>|[=><~^])?\s*(?P<ver>v?{_PART}(?:\.{_PART})?(?:\.{_PART})?(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)"
)

Version = tuple[int, int, int, tuple[tuple[int, int | str], ...]]


def parse_version(text: str) -> Version:
    match = _VERSION.fullmatch(text.strip())
    if match is None:
        raise FuncError("Invalid Semantic Version")
    pre = tuple((0, int(p)) if p.isdigit() else (1, p) for p in (match["pre"] or "").split(".") if p)
    return int(match["major"]), int(match["minor"] or 0), int(match["patch"] or 0), pre


def _key(version: Version) -> tuple[object, ...]:
    major, minor, patch, pre = version
    return (major, minor, patch, 0 if pre else 1, pre)


class _Bound:
    """One comparison: ``op`` against the version ``text`` (which may hold wildcards)."""

    def __init__(self, op: str, text: str) -> None:
        body = text.lstrip("v").split("+")[0]
        core, _, pre = body.partition("-")
        parts = core.split(".")
        self.wild = next((i for i, p in enumerate(parts) if p in ("x", "X", "*")), len(parts))
        numbers = [int(p) for p in parts[: self.wild]]
        self.dirty = len(parts) < 3 or self.wild < 3
        self.op = {"=>": ">=", "=<": "<=", "~>": "~"}.get(op, op or "=")
        self.pre = bool(pre)
        padded = [*numbers, 0, 0, 0]
        prerelease = parse_version("0.0.0-" + pre)[3] if pre else ()
        self.version: Version = (padded[0], padded[1], padded[2], prerelease)
        self.given = min(self.wild, len(parts))

    def _upper(self, level: int) -> Version:
        major, minor, _patch, _pre = self.version
        if level <= 0:
            return (major + 1, 0, 0, ())
        return (major, minor + 1, 0, ())

    def matches(self, version: Version) -> bool:
        key, low = _key(version), _key(self.version)
        if self.op == "~":
            return key >= low and key < _key(self._upper(0 if self.given <= 1 else 1))
        if self.op == "^":
            major, minor, patch, _ = self.version
            if major > 0 or self.given <= 1:
                high: Version = (major + 1, 0, 0, ())
            elif minor > 0 or self.given == 2:
                high = (0, minor + 1, 0, ())
            else:
                high = (0, 0, patch + 1, ())
            return key >= low and key < _key(high)
        if self.dirty and self.op in ("=", "!="):
            inside = self.given == 0 or (
                key >= low and key < _key(self._upper(self.given - 1) if self.given < 3 else self.version)
            )
            return inside if self.op == "=" else not inside
        if self.dirty and self.op in (">", "<="):
            high = self._upper(self.given - 1) if 0 < self.given < 3 else self.version
            above = self.given > 0 and key >= _key(high)
            return above if self.op == ">" else not above
        compare = {
            "=": key == low,
            "!=": key != low,
            ">": key > low,
            ">=": key >= low,
            "<": key < low,
            "<=": key <= low,
        }
        return compare[self.op]


def _and_group(text: str) -> list[_Bound]:
    text = re.sub(r"(\S+)\s+-\s+(\S+)", r">=\1 <=\2", text.strip())
    bounds: list[_Bound] = []
    pos = 0
    for match in _CONSTRAINT.finditer(text):
        if text[pos : match.start()].strip(" ,"):
            raise FuncError(f"improper constraint: {text}")
        bounds.append(_Bound(match["op"] or "", match["ver"]))
        pos = match.end()
    if text[pos:].strip(" ,") or not bounds:
        raise FuncError(f"improper constraint: {text}")
    return bounds


def semver_compare(constraint: str, version_text: str) -> bool:
    version = parse_version(version_text)
    groups = [_and_group(group) for group in constraint.split("||")]
    for bounds in groups:
        if version[3] and not any(b.pre and b.version[:3] == version[:3] for b in bounds):
            continue
        if all(bound.matches(version) for bound in bounds):
            return True
    return False


SEMVER_FUNCS: Final = {"semverCompare": Func(semver_compare, ("str", "str"))}
