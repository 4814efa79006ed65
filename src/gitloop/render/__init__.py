"""Layer 2 adapter: render an Argo CD Application source into Kubernetes objects, as Argo CD's
repo-server does, with plain directories read here and the real ``helm`` and ``kustomize``
(``kubectl kustomize``) run as subprocesses.

``SourceRenderer`` implements the ``Renderer`` port; ``detect_tool`` tells which tool a source gets.
The binaries come from ``gitloop.render.tools.ensure_tools`` (``python -m gitloop.render.tools``),
which is deliberately not imported here.
"""

from __future__ import annotations

from gitloop.render.buildenv import BuildEnv
from gitloop.render.detect import Tool, detect_tool, explicit_tool
from gitloop.render.helm import HelmSettings
from gitloop.render.kustomize import KustomizeSettings
from gitloop.render.renderer import SourceCheckout, SourceRenderer

__all__ = [
    "BuildEnv",
    "HelmSettings",
    "KustomizeSettings",
    "SourceCheckout",
    "SourceRenderer",
    "Tool",
    "detect_tool",
    "explicit_tool",
]
