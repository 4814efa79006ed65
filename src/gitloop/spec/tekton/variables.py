"""The grammar of Tekton variable references, ``$(params.x)``, ``$(tasks.t.results.r[*])`` and the rest.

A ``Reference`` is one ``$(...)`` whose first segment is a namespace Tekton substitutes (``params``,
``context``, ``tasks``, ``finally``, ``workspaces``, ``results``, ``steps``, ``step``, ``credentials``).
Anything else, such as a shell's ``$(date)``, is not a reference and is left alone, as Tekton leaves it.

Names may be written with dots or brackets: ``$(params.x)``, ``$(params["x"])``, ``$(params['a.b'])``.
A trailing ``[*]`` asks for a whole array or object, ``[2]`` for one array item, and one more dotted
segment after a param or result name (``$(params.repo.url)``) for one key of an object.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NAMESPACES = frozenset(
    {"params", "context", "tasks", "finally", "workspaces", "results", "steps", "step", "credentials"}
)
"""First segments that make a ``$(...)`` a Tekton variable reference."""

PIPELINE_PREFIXES = frozenset({"params", "tasks", "finally", "context", "workspaces", "results"})
"""The prefixes Tekton accepts in a pipeline task's params and ``when`` expressions."""

_CANDIDATE = re.compile(r"\$\(([A-Za-z0-9_.\-\[\]'\"*]+)\)")
_BODY = re.compile(
    r"""(?P<root>[A-Za-z_][A-Za-z0-9_-]*)
        (?P<rest>(?:\.[A-Za-z0-9_-]+|\[(?:'[^'\]]*'|"[^"\]]*")\])*)
        (?:\[(?P<index>\d+|\*)\])?""",
    re.VERBOSE,
)
_PART = re.compile(r"""\.(?P<dot>[A-Za-z0-9_-]+)|\[(?:'(?P<single>[^'\]]*)'|"(?P<double>[^"\]]*)")\]""")
_TEKTON_EXPRESSION = re.compile(r"\$\(([_a-zA-Z0-9.-]+(?:\.[_a-zA-Z0-9.-]+)*(?:\[(?:[0-9]+|\*)\])?)\)")


@dataclass(frozen=True)
class Reference:
    """One ``$(...)`` variable reference found in a string.

    ``name`` is the variable without accessors (``params.x``, ``tasks.t.results.r``,
    ``context.pipelineRun.name``); ``key`` selects one key of an object, ``index`` one array item, and
    ``star`` the whole array or object.
    """

    expression: str
    start: int
    end: int
    namespace: str
    name: str
    key: str | None = None
    index: int | None = None
    star: bool = False

    @property
    def whole(self) -> bool:
        """Whether the reference asks for the whole value (no key, no index)."""
        return self.key is None and self.index is None

    @property
    def param(self) -> str | None:
        """The param name for ``params`` references."""
        return self.name[len("params.") :] if self.namespace == "params" else None

    @property
    def result_ref(self) -> tuple[str, str] | None:
        """``(task, result)`` for ``$(tasks.<task>.results.<result>...)`` and ``finally`` references."""
        parts = self.name.split(".")
        if self.namespace in ("tasks", "finally") and len(parts) == 4 and parts[2] == "results":
            return parts[1], parts[3]
        return None

    @property
    def status_ref(self) -> str | None:
        """The task of ``$(tasks.<task>.status)``/``.reason``, or ``""`` for the aggregate ``$(tasks.status)``."""
        parts = self.name.split(".")
        if self.namespace != "tasks":
            return None
        if len(parts) == 2 and parts[1] == "status":
            return ""
        if len(parts) == 3 and parts[2] in ("status", "reason"):
            return parts[1]
        return None


def _parse(body: str, start: int, end: int, expression: str) -> Reference | None:
    match = _BODY.fullmatch(body)
    if match is None or match.group("root") not in NAMESPACES:
        return None
    namespace = match.group("root")
    parts: list[str] = []
    dotted: list[bool] = []
    for part in _PART.finditer(match.group("rest")):
        dot = part.group("dot")
        parts.append(dot if dot is not None else part.group("single") or part.group("double") or "")
        dotted.append(dot is not None)
    index_text = match.group("index")
    star = index_text == "*"
    index = int(index_text) if index_text and not star else None
    name_length = len(parts)
    if namespace == "params" and parts:
        name_length = 1
    elif namespace in ("tasks", "finally", "steps") and len(parts) >= 3 and parts[1] == "results":
        name_length = 3
    key_parts = parts[name_length:]
    if key_parts and not all(dotted[name_length:]):
        return None
    name = ".".join([namespace, *parts[:name_length]])
    key = ".".join(key_parts) if key_parts else None
    return Reference(expression, start, end, namespace, name, key, index, star)


def find_references(text: str) -> list[Reference]:
    """Every Tekton variable reference in ``text``, in order; non-references such as ``$(date)`` are skipped."""
    found: list[Reference] = []
    for match in _CANDIDATE.finditer(text):
        ref = _parse(match.group(1), match.start(), match.end(), match.group(0))
        if ref is not None:
            found.append(ref)
    return found


def exact_reference(text: str) -> Reference | None:
    """The reference when ``text`` is nothing but one reference (``"$(params.flags[*])"``), else ``None``."""
    match = _CANDIDATE.fullmatch(text)
    return _parse(match.group(1), 0, len(text), text) if match else None


def tekton_expressions(text: str) -> list[str]:
    """The bodies of ``$(...)`` expressions the way Tekton's webhook finds them (dots and indexes only).

    Unlike ``find_references`` this also returns unknown prefixes such as ``date`` in ``$(date)``, which
    Tekton rejects in a pipeline task's params and ``when`` expressions.
    """
    return [m.group(1) for m in _TEKTON_EXPRESSION.finditer(text)]
