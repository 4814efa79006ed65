"""Helm sources: ``helm template`` of a chart directory in the checkout, with Argo CD's arguments.

``helm template . --name-template <releaseName or app name> --namespace <helm.namespace or the
destination's> [--kube-version] --set… --set-string… --set-file… --values <valueFiles…>
--values <values/valuesObject> [--api-versions…] --include-crds`` (no ``--include-crds`` with
``skipCrds``; ``--skip-schema-validation`` and ``--skip-tests`` on request), run in the chart directory
with a private, empty Helm home. Parameters and file paths see the build environment, and commas in
``--set`` values are escaped unless the value is a ``{list}``. Hooks stay in the output: the sync
engine maps them. A chart whose dependencies are missing from ``charts/`` gets ``helm dependency
build`` in a scratch copy of the checkout, then a second try. Charts from Helm repositories or OCI
registries (``spec.source.chart``) are not supported: vendor the chart into git.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from gitloop.errors import RenderError
from gitloop.model.resources import Manifest
from gitloop.render import options as opt
from gitloop.render.appdir import AppDir, copy_checkout
from gitloop.render.buildenv import BuildEnv
from gitloop.render.helmvalues import DEFAULT_SCHEMES, resolve_file, resolve_value_files
from gitloop.render.output import parse_output, run_tool

if TYPE_CHECKING:
    from gitloop.render.tools import Tools

_WHERE = "spec.source.helm"
_MISSING_DEPENDENCY = (
    "found in Chart.yaml, but missing in charts/ directory",
    "found in requirements.yaml, but missing in charts",
)


@dataclass(frozen=True)
class HelmSettings:
    """Installation-wide settings: the target cluster's version and API versions (Argo CD passes the
    destination cluster's), and the URL schemes allowed for remote value files."""

    kube_version: str = ""
    api_versions: tuple[str, ...] = ()
    value_file_schemes: tuple[str, ...] = DEFAULT_SCHEMES


def release_name(app_name: str) -> str:
    """The default release name: the Application's name without a ``namespace_`` qualifier."""
    return app_name.split("_", 1)[1] if "_" in app_name else app_name


def render_helm(
    app: AppDir,
    helm: Mapping[str, Any] | None,
    *,
    tools: Tools,
    env: BuildEnv,
    refs: Mapping[str, Path],
    settings: HelmSettings,
    timeout: float,
) -> list[Manifest]:
    """The objects ``helm template`` makes of the chart in the app directory."""
    what = f"helm template {app.rel}"
    with tempfile.TemporaryDirectory(prefix="gitloop-helm-") as scratch_dir:
        scratch = Path(scratch_dir)
        args = _template_args(app, helm, env=env, refs=refs, settings=settings, scratch=scratch)
        helm_env = {
            **os.environ,
            "HELM_CACHE_HOME": str(scratch / "home" / "cache"),
            "HELM_CONFIG_HOME": str(scratch / "home" / "config"),
            "HELM_DATA_HOME": str(scratch / "home" / "data"),
        }
        try:
            out = run_tool([tools.helm, *args], cwd=app.path, env=helm_env, what=what, timeout=timeout)
        except RenderError as exc:
            if not any(marker in str(exc) for marker in _MISSING_DEPENDENCY):
                raise
            copy = app.moved(copy_checkout(app.root, scratch / "checkout"))
            redact = {str(copy.root): str(app.root)}
            run_tool(
                [tools.helm, "dependency", "build"],
                cwd=copy.path,
                env=helm_env,
                what=f"helm dependency build {app.rel}",
                timeout=timeout,
                redact=redact,
            )
            out = run_tool(
                [tools.helm, *args], cwd=copy.path, env=helm_env, what=what, timeout=timeout, redact=redact
            )
    return parse_output(out, what=what)


def _template_args(
    app: AppDir,
    helm: Mapping[str, Any] | None,
    *,
    env: BuildEnv,
    refs: Mapping[str, Path],
    settings: HelmSettings,
    scratch: Path,
) -> list[str]:
    release = opt.string(helm, "releaseName", _WHERE) or release_name(env.app_name)
    namespace = opt.string(helm, "namespace", _WHERE) or env.namespace
    kube_version = opt.string(helm, "kubeVersion", _WHERE) or settings.kube_version
    api_versions = opt.strings(helm, "apiVersions", _WHERE) or list(settings.api_versions)
    schemes = settings.value_file_schemes
    value_files = resolve_value_files(
        app,
        opt.strings(helm, "valueFiles", _WHERE),
        env=env,
        refs=refs,
        ignore_missing=opt.boolean(helm, "ignoreMissingValueFiles", _WHERE),
        schemes=schemes,
    )
    sets: dict[str, str] = {}
    set_strings: dict[str, str] = {}
    for i, parameter in enumerate(opt.mappings(helm, "parameters", _WHERE)):
        where = f"{_WHERE}.parameters[{i}]"
        name = opt.string(parameter, "name", where)
        value = parameter.get("value")
        text = str(value).lower() if isinstance(value, bool) else opt.string(parameter, "value", where)
        (set_strings if opt.boolean(parameter, "forceString", where) else sets)[name] = env.envsubst(text)
    set_files: dict[str, str] = {}
    for i, parameter in enumerate(opt.mappings(helm, "fileParameters", _WHERE)):
        where = f"{_WHERE}.fileParameters[{i}]"
        path = opt.string(parameter, "path", where)
        resolved = resolve_file(app, path, env=env, refs=refs, schemes=schemes)
        set_files[opt.string(parameter, "name", where)] = resolved.value

    args = ["template", ".", "--name-template", release]
    if namespace:
        args += ["--namespace", namespace]
    if kube_version:
        args += ["--kube-version", kube_version]
    for flag, values in (("--set", sets), ("--set-string", set_strings), ("--set-file", set_files)):
        for key, value in values.items():
            args += [flag, f"{key}={_escape_commas(value)}"]
    for file in value_files:
        args += ["--values", file]
    extra = _inline_values(helm)
    if extra is not None:
        extra_file = scratch / "values.yaml"
        extra_file.write_text(extra, encoding="utf-8")
        args += ["--values", str(extra_file)]
    for api_version in api_versions:
        args += ["--api-versions", api_version]
    if not opt.boolean(helm, "skipCrds", _WHERE):
        args.append("--include-crds")
    if opt.boolean(helm, "skipSchemaValidation", _WHERE):
        args.append("--skip-schema-validation")
    if opt.boolean(helm, "skipTests", _WHERE):
        args.append("--skip-tests")
    return args


def _inline_values(helm: Mapping[str, Any] | None) -> str | None:
    """``valuesObject`` as YAML, else ``values`` as written; ``None`` when both are empty."""
    if helm is None:
        return None
    values_object = helm.get("valuesObject")
    if values_object is not None:
        if not isinstance(values_object, Mapping):
            raise RenderError(
                f"{_WHERE}.valuesObject: expected a mapping, got {type(values_object).__name__}"
            )
        return (
            yaml.safe_dump(dict(values_object), sort_keys=False, allow_unicode=True)
            if values_object
            else None
        )
    values = opt.string(helm, "values", _WHERE)
    return values or None


def _escape_commas(value: str) -> str:
    """Helm splits ``--set`` on commas: escape those not escaped already, unless ``{a,b}`` (a list)."""
    if value.startswith("{") and value.endswith("}"):
        return value
    out: list[str] = []
    previous = ""
    for char in value:
        out.append("\\," if char == "," and previous != "\\" else char)
        previous = char
    return "".join(out)
