"""Interceptors and their chain: each runs in order and may stop the trigger or add ``extensions``.

``run_chain`` gives the first verdict that is not ``continue``, or ``continue`` with the extensions of the
whole chain (each interceptor's extensions merged over the earlier ones key by key, as in Tekton).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gitloop.spec.triggers import CelInterceptor, Interceptor, SecretValues
from gitloop.triggers.interceptors import bitbucket, cel, github, gitlab
from gitloop.triggers.interceptors.base import CONTINUE, EventView, InterceptorInput, Status, Verdict

__all__ = ["CONTINUE", "EventView", "InterceptorInput", "Status", "Verdict", "run_chain", "run_one"]


def run_one(interceptor: Interceptor, data: InterceptorInput) -> Verdict:
    """One interceptor's verdict."""
    if isinstance(interceptor, CelInterceptor):
        return cel.process(interceptor, data)
    if interceptor.provider == "github":
        return github.process(interceptor, data)
    if interceptor.provider == "gitlab":
        return gitlab.process(interceptor, data)
    return bitbucket.process(interceptor, data)


def run_chain(
    interceptors: Sequence[Interceptor], view: EventView, secrets: SecretValues, extensions: Mapping[str, Any]
) -> Verdict:
    """The verdict of a chain, starting from ``extensions`` (a trigger group's, or none)."""
    current: dict[str, Any] = dict(extensions)
    for interceptor in interceptors:
        verdict = run_one(interceptor, InterceptorInput(view, secrets, current))
        if not verdict.proceeds:
            label = interceptor.name or (
                "cel" if isinstance(interceptor, CelInterceptor) else interceptor.provider
            )
            return Verdict(verdict.status, f"{label} interceptor: {verdict.message}")
        current.update(verdict.extensions)
    return Verdict("continue", extensions=current)
