"""Kustomize sources: ``kubectl kustomize <app dir>`` (or a standalone ``kustomize build``), as Argo
CD runs ``kustomize build`` from the repository root.

``spec.source.kustomize`` overrides are applied in Argo CD's order (namePrefix, nameSuffix, images,
replicas, commonLabels, commonAnnotations, namespace, patches, components) to the kustomization file
of a scratch copy of the checkout, never to the checkout. ``images`` and ``commonLabels`` values (and
``commonAnnotations`` with ``commonAnnotationsEnvsubst: true``) see the build environment. No
``--load-restrictor`` or other flag is passed unless configured, as Argo CD's default
``kustomize.buildOptions`` is empty; with ``--enable-helm`` configured, kustomize runs the bundled
helm. ``version`` picks a standalone kustomize registered by version.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from gitloop.errors import RenderError, SpecError
from gitloop.model.resources import Manifest
from gitloop.render import kustomization as edit
from gitloop.render import options as opt
from gitloop.render.appdir import AppDir, copy_checkout, within
from gitloop.render.buildenv import BuildEnv
from gitloop.render.detect import KUSTOMIZATION_FILES
from gitloop.render.output import parse_output, run_tool
from gitloop.spec.yaml import load_one, read_text

if TYPE_CHECKING:
    from gitloop.render.tools import Tools

_WHERE = "spec.source.kustomize"


@dataclass(frozen=True)
class KustomizeSettings:
    """Installation-wide settings, Argo CD's ``kustomize.buildOptions`` and ``kustomize.path.<v>``."""

    build_options: tuple[str, ...] = ()
    versions: Mapping[str, Path] = field(default_factory=dict)


def render_kustomize(
    app: AppDir,
    overrides: Mapping[str, Any] | None,
    *,
    tools: Tools,
    env: BuildEnv,
    settings: KustomizeSettings,
    timeout: float,
) -> list[Manifest]:
    """The objects ``kustomize build`` makes of the app directory with ``overrides`` applied."""
    command = _command(tools, settings, opt.string(overrides, "version", _WHERE))
    options = _build_options(tools, settings, overrides)
    with tempfile.TemporaryDirectory(prefix="gitloop-kustomize-") as scratch_dir:
        scratch = Path(scratch_dir)
        process_env = {
            **os.environ,
            **env.variables(),
            # a private, empty Helm home for charts inflated with --enable-helm
            "HELM_CACHE_HOME": str(scratch / "helm" / "cache"),
            "HELM_CONFIG_HOME": str(scratch / "helm" / "config"),
            "HELM_DATA_HOME": str(scratch / "helm" / "data"),
        }
        if not _has_edits(overrides):
            return _build(command, app, app, options, process_env, timeout)
        assert overrides is not None
        copy = app.moved(copy_checkout(app.root, scratch / "checkout"))
        _apply(copy, overrides, env)
        return _build(command, copy, app, options, process_env, timeout)


def _command(tools: Tools, settings: KustomizeSettings, version: str) -> list[str]:
    if version:
        binary = settings.versions.get(version)
        if binary is None:
            raise RenderError(f"kustomize version {version} is not registered")
        return [str(binary), "build"]
    if tools.kustomize is not None:
        return [str(tools.kustomize), "build"]
    return [str(tools.kubectl), "kustomize"]


def _build_options(
    tools: Tools, settings: KustomizeSettings, overrides: Mapping[str, Any] | None
) -> list[str]:
    """The configured build options; with ``--enable-helm`` also the source's ``kubeVersion`` and
    ``apiVersions`` (as Argo CD adds them) and, unless configured, the bundled helm as the one to run."""
    options = list(settings.build_options)
    if "--enable-helm" not in options:
        return options
    if kube_version := opt.string(overrides, "kubeVersion", _WHERE):
        options += ["--helm-kube-version", kube_version]
    for api_version in opt.strings(overrides, "apiVersions", _WHERE):
        options += ["--helm-api-versions", api_version]
    if not any(o == "--helm-command" or o.startswith("--helm-command=") for o in options):
        options += ["--helm-command", str(tools.helm)]
    return options


def _build(
    command: list[str],
    work: AppDir,
    app: AppDir,
    options: list[str],
    env: Mapping[str, str],
    timeout: float,
) -> list[Manifest]:
    what = f"kustomize build {app.rel}"
    out = run_tool(
        [*command, str(work.path), *options],
        cwd=work.root,
        env=env,
        what=what,
        timeout=timeout,
        redact={str(work.root): str(app.root)} if work.root != app.root else None,
    )
    return parse_output(out, what=what)


_EDIT_FIELDS = (
    "namePrefix",
    "nameSuffix",
    "images",
    "replicas",
    "commonLabels",
    "commonAnnotations",
    "namespace",
    "patches",
    "components",
)


def _has_edits(overrides: Mapping[str, Any] | None) -> bool:
    return overrides is not None and any(overrides.get(name) for name in _EDIT_FIELDS)


def _apply(app: AppDir, o: Mapping[str, Any], env: BuildEnv) -> None:
    file = next((app.path / n for n in KUSTOMIZATION_FILES if (app.path / n).is_file()), None)
    if file is None:
        raise RenderError(f"kustomization file not found in {app.rel}")
    try:
        loaded = load_one(read_text(file), source=f"{app.rel}/{file.name}")
    except SpecError as exc:
        raise RenderError(f"cannot read {exc}") from exc
    if not isinstance(loaded, dict):
        raise RenderError(f"{app.rel}/{file.name}: expected a mapping")
    k: edit.Kustomization = loaded
    if prefix := opt.string(o, "namePrefix", _WHERE):
        k["namePrefix"] = prefix
    if suffix := opt.string(o, "nameSuffix", _WHERE):
        k["nameSuffix"] = suffix
    if images := opt.strings(o, "images", _WHERE):
        edit.set_images(k, [env.envsubst(image) for image in images])
    if replicas := opt.mappings(o, "replicas", _WHERE):
        edit.set_replicas(k, [_replica(r, i) for i, r in enumerate(replicas)])
    if labels := opt.string_map(o, "commonLabels", _WHERE):
        edit.add_labels(
            k,
            {key: env.envsubst(value) for key, value in labels.items()},
            force=opt.boolean(o, "forceCommonLabels", _WHERE),
            without_selector=opt.boolean(o, "labelWithoutSelector", _WHERE),
            include_templates=opt.boolean(o, "labelIncludeTemplates", _WHERE),
        )
    if annotations := opt.string_map(o, "commonAnnotations", _WHERE):
        if opt.boolean(o, "commonAnnotationsEnvsubst", _WHERE):
            annotations = {key: env.envsubst(value) for key, value in annotations.items()}
        edit.add_annotations(k, annotations, force=opt.boolean(o, "forceCommonAnnotations", _WHERE))
    if namespace := opt.string(o, "namespace", _WHERE):
        edit.set_namespace(k, namespace)
    if patches := opt.mappings(o, "patches", _WHERE):
        edit.add_patches(k, patches)
    if components := opt.strings(o, "components", _WHERE):
        found = _components(app, components, opt.boolean(o, "ignoreMissingComponents", _WHERE))
        if found:
            edit.add_components(k, found)
    file.write_text(yaml.safe_dump(k, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _replica(entry: Mapping[str, Any], index: int) -> tuple[str, int]:
    where = f"{_WHERE}.replicas[{index}]"
    name = opt.string(entry, "name", where)
    count = entry.get("count")
    if isinstance(count, str) and count.strip().lstrip("-").isdigit():
        count = int(count)
    if not name or isinstance(count, bool) or not isinstance(count, int):
        raise RenderError(f"{where}: expected a name and an integer count, got {dict(entry)!r}")
    return name, count


def _components(app: AppDir, components: Sequence[str], ignore_missing: bool) -> list[str]:
    """The components to add: globs expanded against the app directory, remote ones as they are,
    missing ones dropped with ``ignoreMissingComponents`` and an error otherwise."""
    found: list[str] = []
    for component in components:
        if "://" in component or component.startswith(("github.com/", "git@")):
            found.append(component)
            continue
        pattern = os.path.normpath(app.path / component)
        matches = [p for p in _match_paths(pattern) if within(p.resolve(), app.root)]
        if matches:
            found.extend(os.path.relpath(m, app.path) for m in matches)
        elif not ignore_missing:
            raise RenderError(f"kustomize component {component} has no match in {app.rel}")
    return found


def _match_paths(pattern: str) -> list[Path]:
    """What Go's ``filepath.Glob`` (which kustomize uses) finds: the path itself if it has no
    wildcards, else the matches in name order."""
    if not any(char in pattern for char in "*?["):
        return [Path(pattern)] if Path(pattern).exists() else []
    return sorted(Path("/").glob(pattern.lstrip("/")))
