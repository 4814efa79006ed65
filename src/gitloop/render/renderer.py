"""``SourceRenderer``, the ``Renderer`` port's adapter: one Argo CD source in, Kubernetes objects out.

For one source it resolves the app directory, merges ``.argocd-source*.yaml`` overrides, picks the
tool (``detect``) and hands over to ``directory``, ``kustomize`` or ``helm``. For ``spec.sources`` it
renders each source in its own checkout and concatenates the objects in source order; sources with
a ``ref`` are the ``$ref`` roots for Helm value files, and are rendered themselves only when they have
a ``path``. What the controller does afterwards (default namespaces, tracking labels, dropping all but
the last of repeated objects) needs the cluster's discovery and is the sync engine's job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitloop.errors import RenderError
from gitloop.model.resources import Manifest
from gitloop.render import options as opt
from gitloop.render.appdir import resolve_app_dir
from gitloop.render.buildenv import BuildEnv
from gitloop.render.detect import Tool, detect_tool
from gitloop.render.directory import render_directory
from gitloop.render.helm import HelmSettings, render_helm
from gitloop.render.kustomize import KustomizeSettings, render_kustomize
from gitloop.render.overrides import merge_source_overrides

if TYPE_CHECKING:
    from gitloop.render.tools import Tools

DEFAULT_TIMEOUT = 300.0


@dataclass(frozen=True)
class SourceCheckout:
    """One entry of ``spec.sources`` and the checkout of its repository at its revision."""

    root: Path
    source: Mapping[str, Any]
    revision: str = ""


class SourceRenderer:
    """Renders Argo CD Application sources with the real helm and kustomize.

    ``tools`` defaults to ``ensure_tools()``, called on the first Helm or Kustomize render (plain
    directories need no tools). ``kustomize`` and ``helm`` hold installation-wide settings.
    """

    def __init__(
        self,
        tools: Tools | None = None,
        *,
        kustomize: KustomizeSettings | None = None,
        helm: HelmSettings | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._tools = tools
        self._kustomize = kustomize or KustomizeSettings()
        self._helm = helm or HelmSettings()
        self._timeout = timeout

    @property
    def tools(self) -> Tools:
        if self._tools is None:
            # Imported here so that importing the package does not import ``tools``, which
            # ``python -m gitloop.render.tools`` runs as ``__main__``.
            from gitloop.render.tools import ensure_tools

            self._tools = ensure_tools()
        return self._tools

    def render(
        self,
        root: Path,
        source: dict[str, Any],
        *,
        app_name: str,
        namespace: str,
        revision: str = "",
        project: str = "",
        refs: Mapping[str, Path] | None = None,
    ) -> list[Manifest]:
        """The objects of ``source`` checked out at ``root``. ``refs`` maps ``$name`` to the roots of
        the Application's ``ref`` sources; ``revision`` and ``project`` feed the build environment."""
        if not isinstance(source, Mapping):
            raise RenderError(f"spec.source: expected a mapping, got {type(source).__name__}")
        if source.get("chart"):
            raise RenderError(
                f"spec.source.chart {source['chart']!r}: charts from Helm repositories or OCI registries "
                "are not supported; keep the chart in git and set spec.source.path"
            )
        app = resolve_app_dir(root, opt.string(source, "path", "spec.source"))
        merged = merge_source_overrides(app.path, source, app_name)
        tool = detect_tool(app.path, merged)
        env = BuildEnv(
            app_name=app_name,
            namespace=namespace,
            project=project,
            revision=revision,
            source_path=opt.string(merged, "path", "spec.source"),
            repo_url=opt.string(merged, "repoURL", "spec.source"),
            target_revision=opt.string(merged, "targetRevision", "spec.source"),
        )
        if tool is Tool.DIRECTORY:
            return render_directory(app, opt.section(merged, "directory", "spec.source"))
        if tool is Tool.KUSTOMIZE:
            return render_kustomize(
                app,
                opt.section(merged, "kustomize", "spec.source"),
                tools=self.tools,
                env=env,
                settings=self._kustomize,
                timeout=self._timeout,
            )
        if tool is Tool.HELM:
            return render_helm(
                app,
                opt.section(merged, "helm", "spec.source"),
                tools=self.tools,
                env=env,
                refs=refs or {},
                settings=self._helm,
                timeout=self._timeout,
            )
        raise RenderError("config management plugins (spec.source.plugin) are not supported")

    def render_sources(
        self,
        checkouts: Sequence[SourceCheckout],
        *,
        app_name: str,
        namespace: str,
        project: str = "",
    ) -> list[Manifest]:
        """The objects of every source of ``spec.sources``, concatenated in source order."""
        refs: dict[str, Path] = {}
        for index, checkout in enumerate(checkouts):
            ref = opt.string(checkout.source, "ref", f"spec.sources[{index}]")
            if not ref:
                continue
            if checkout.source.get("chart"):
                raise RenderError(f"spec.sources[{index}]: a source with 'ref' cannot have 'chart'")
            if f"${ref}" in refs:
                raise RenderError(f"spec.sources[{index}]: ref {ref!r} is used by another source")
            refs[f"${ref}"] = checkout.root
        objects: list[Manifest] = []
        for index, checkout in enumerate(checkouts):
            if checkout.source.get("ref") and not checkout.source.get("path"):
                continue  # a source of value files only
            try:
                objects.extend(
                    self.render(
                        checkout.root,
                        dict(checkout.source),
                        app_name=app_name,
                        namespace=namespace,
                        revision=checkout.revision,
                        project=project,
                        refs=refs,
                    )
                )
            except RenderError as exc:
                raise RenderError(f"spec.sources[{index}]: {exc}") from exc
        return objects
