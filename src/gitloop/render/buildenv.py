"""Argo CD's build environment: the ``ARGOCD_APP_*`` variables and their ``$VAR`` substitution.

Helm parameters and value-file paths, and Kustomize images and common labels (annotations on
request), may refer to ``$ARGOCD_APP_NAME``, ``${ARGOCD_APP_REVISION}`` and the rest. Substitution
follows Go's ``os.Expand`` as Argo CD uses it: ``$$`` is a literal ``$``, an unknown variable is the
empty string, and ``${`` without its ``}`` is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

_SPECIAL = frozenset("*#$@!?-0123456789")


@dataclass(frozen=True)
class BuildEnv:
    """What one render knows about its Application."""

    app_name: str
    namespace: str
    project: str = ""
    revision: str = ""
    source_path: str = ""
    repo_url: str = ""
    target_revision: str = ""

    def variables(self) -> dict[str, str]:
        return {
            "ARGOCD_APP_NAME": self.app_name,
            "ARGOCD_APP_NAMESPACE": self.namespace,
            "ARGOCD_APP_PROJECT_NAME": self.project,
            "ARGOCD_APP_REVISION": self.revision,
            "ARGOCD_APP_REVISION_SHORT": self.revision[:7],
            "ARGOCD_APP_REVISION_SHORT_8": self.revision[:8],
            "ARGOCD_APP_SOURCE_REPO_URL": self.repo_url,
            "ARGOCD_APP_SOURCE_PATH": self.source_path,
            "ARGOCD_APP_SOURCE_TARGET_REVISION": self.target_revision,
        }

    def envsubst(self, text: str) -> str:
        """``text`` with ``$NAME`` and ``${NAME}`` replaced by this environment's values."""
        values = self.variables()
        out: list[str] = []
        i = 0
        while i < len(text):
            char = text[i]
            if char != "$" or i + 1 == len(text):
                out.append(char)
                i += 1
                continue
            name, width = _shell_name(text, i + 1)
            if name == "$":
                out.append("$")
            elif name:
                out.append(values.get(name, ""))
            elif width == 0:
                out.append("$")
            i += 1 + width
        return "".join(out)


def _shell_name(text: str, start: int) -> tuple[str, int]:
    """The variable name after a ``$`` at ``start - 1`` and how many characters it spans."""
    first = text[start]
    if first == "{":
        if start + 2 < len(text) and text[start + 1] in _SPECIAL and text[start + 2] == "}":
            return text[start + 1], 3
        end = text.find("}", start + 1)
        if end == -1:
            return "", 1
        if end == start + 1:
            return "", 2
        return text[start + 1 : end], end - start + 1
    if first in _SPECIAL:
        return first, 1
    end = start
    while end < len(text) and (text[end] == "_" or (text[end].isascii() and text[end].isalnum())):
        end += 1
    return text[start:end], end - start
