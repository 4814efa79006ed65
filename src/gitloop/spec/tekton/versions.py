"""Which Tekton API versions gitloop reads, and what it says about the fields of the one it reads in part.

``tekton.dev/v1`` is read in full. ``tekton.dev/v1beta1`` is read where it has a ``tekton.dev/v1``
equivalent: the fields v1 only renamed are mapped (a step's ``resources``; a PipelineRun's
``serviceAccountName``, ``podTemplate`` and ``timeout``). A v1beta1 field with no v1 equivalent is refused
as unknown, with the reason below, instead of a bare "unknown field" that reads like a typo.
"""

from __future__ import annotations

V1 = "tekton.dev/v1"
V1BETA1 = "tekton.dev/v1beta1"
TEKTON_VERSIONS = (V1, V1BETA1)
READ_VERSIONS = f"{V1} (and {V1BETA1} where it matches {V1}, see docs/pipelines.md)"
"""How messages name what gitloop reads."""

V1BETA1_ONLY: dict[str, str] = {
    "resources": "PipelineResources, removed in tekton.dev/v1",
    "serviceAccountNames": "tekton.dev/v1 sets them with taskRunSpecs[].serviceAccountName",
    "taskServiceAccountName": "tekton.dev/v1 calls it serviceAccountName",
    "taskPodTemplate": "tekton.dev/v1 calls it podTemplate",
}
"""Fields of tekton.dev/v1beta1 gitloop does not read, by name, with what became of them in v1."""


def v1beta1_hint(key: str) -> str:
    """Why ``key`` is refused when it is a tekton.dev/v1beta1 field gitloop does not read, else ``""``."""
    became = V1BETA1_ONLY.get(key)
    if became is None:
        return ""
    return f"a {V1BETA1} field gitloop does not read ({became}); gitloop reads {READ_VERSIONS}"
