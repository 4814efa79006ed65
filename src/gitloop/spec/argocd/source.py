"""An Application's ``spec.source`` (or one item of ``spec.sources``), checked as Argo CD's CRD checks it.

Every field Argo CD's ``ApplicationSource`` schema knows is accepted; anything else is an error, as
the API server's structural schema would reject it. The render tools' own options (``directory``,
``kustomize``, ``helm``, ``plugin``) are checked for shape here and handed to the ``Renderer`` port
unchanged as ``ApplicationSource.raw``: gitloop never re-spells what the user wrote.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gitloop.spec.fields import Node, Origin

SOURCE_FIELDS = (
    "repoURL",
    "path",
    "targetRevision",
    "chart",
    "ref",
    "name",
    "directory",
    "kustomize",
    "helm",
    "plugin",
)
DIRECTORY_FIELDS = ("recurse", "include", "exclude", "jsonnet")
JSONNET_FIELDS = ("extVars", "tlas", "libs")
KUSTOMIZE_FIELDS = (
    "namePrefix",
    "nameSuffix",
    "images",
    "commonLabels",
    "commonAnnotations",
    "commonAnnotationsEnvsubst",
    "forceCommonLabels",
    "forceCommonAnnotations",
    "labelWithoutSelector",
    "labelIncludeTemplates",
    "namespace",
    "version",
    "replicas",
    "patches",
    "components",
    "ignoreMissingComponents",
    "kubeVersion",
    "apiVersions",
)
HELM_FIELDS = (
    "valueFiles",
    "values",
    "valuesObject",
    "parameters",
    "fileParameters",
    "releaseName",
    "version",
    "passCredentials",
    "ignoreMissingValueFiles",
    "skipCrds",
    "skipTests",
    "skipSchemaValidation",
    "namespace",
    "kubeVersion",
    "apiVersions",
)
HELM_PARAMETER_FIELDS = ("name", "value", "forceString")
PLUGIN_FIELDS = ("name", "env", "parameters")


@dataclass(frozen=True)
class HelmParameter:
    """One ``helm.parameters`` item: ``--set name=value`` (``--set-string`` when ``force_string``)."""

    name: str
    value: str
    force_string: bool = False


@dataclass(frozen=True)
class DirectoryOptions:
    """``directory``: plain YAML/JSON manifests."""

    recurse: bool = False
    include: str = ""
    exclude: str = ""


@dataclass(frozen=True)
class KustomizeOptions:
    """``kustomize``: the overrides gitloop's renderer applies (the rest is in ``raw``)."""

    name_prefix: str = ""
    name_suffix: str = ""
    images: tuple[str, ...] = ()
    common_labels: Mapping[str, str] = field(default_factory=dict)
    common_annotations: Mapping[str, str] = field(default_factory=dict)
    namespace: str = ""


@dataclass(frozen=True)
class HelmOptions:
    """``helm``: ``helm template`` inputs."""

    value_files: tuple[str, ...] = ()
    values: str = ""
    values_object: Mapping[str, Any] | None = None
    parameters: tuple[HelmParameter, ...] = ()
    release_name: str = ""
    namespace: str = ""


@dataclass(frozen=True)
class ApplicationSource:
    """Where an Application's manifests come from: a repository, a revision and a path (or chart)."""

    repo_url: str
    path: str = ""
    target_revision: str = "HEAD"
    """As written; ``""`` in YAML means ``HEAD``."""
    chart: str = ""
    ref: str = ""
    """A name other sources use to refer to this one (``$ref/values.yaml``)."""
    name: str = ""
    directory: DirectoryOptions | None = None
    kustomize: KustomizeOptions | None = None
    helm: HelmOptions | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)
    """The source mapping exactly as written, for the ``Renderer`` port."""

    @property
    def is_ref_only(self) -> bool:
        """A source that only lends its files to others (``ref`` without ``path`` or ``chart``)."""
        return bool(self.ref) and not self.path and not self.chart

    def describe(self) -> str:
        where = self.chart or self.path or "."
        return f"{self.repo_url} {where}@{self.target_revision}"


def parse_source(node: Node) -> ApplicationSource:
    """One ``ApplicationSource``: ``repoURL`` is required, ``path`` and ``chart`` exclude each other."""
    node.require_map().only(SOURCE_FIELDS)
    repo_url = node.string("repoURL", required=True)
    path = node.string("path")
    chart = node.string("chart")
    if path and chart:
        raise node.error("a source has either a path (git) or a chart (Helm repository), not both", "chart")
    ref = node.string("ref")
    if ref and not all(c.isalnum() or c in "-_" for c in ref):
        raise node.error(f"invalid ref {ref!r}: letters, digits, '-' and '_' only", "ref")
    revision = node.child("targetRevision")
    target = "HEAD"
    if revision is not None:
        if isinstance(revision.value, int | float) and not isinstance(revision.value, bool):
            target = str(revision.value)  # chart versions written unquoted (1.2) still mean the string
        else:
            target = revision.as_str() or "HEAD"
    plugin = node.child("plugin")
    if plugin is not None:
        plugin.require_map().only(PLUGIN_FIELDS)
    tools = [key for key in ("directory", "kustomize", "helm", "plugin") if node.child(key) is not None]
    if len(tools) > 1:
        raise node.error(f"multiple application sources defined: {', '.join(tools)}", tools[1])
    return ApplicationSource(
        repo_url=repo_url,
        path=path,
        target_revision=target,
        chart=chart,
        ref=ref,
        name=node.string("name"),
        directory=_directory(node.child("directory")),
        kustomize=_kustomize(node.child("kustomize")),
        helm=_helm(node.child("helm")),
        raw=node.raw_map(),
    )


def source_from_raw(raw: Mapping[str, Any], where: str = "spec.source") -> ApplicationSource:
    """An ``ApplicationSource`` from a plain mapping (a source recorded in sync history)."""
    return parse_source(Node(dict(raw), where, Origin("<recorded source>")))


def _directory(node: Node | None) -> DirectoryOptions | None:
    if node is None:
        return None
    node.require_map().only(DIRECTORY_FIELDS)
    jsonnet = node.child("jsonnet")
    if jsonnet is not None:
        jsonnet.require_map().only(JSONNET_FIELDS)
    return DirectoryOptions(
        recurse=node.boolean("recurse"), include=node.string("include"), exclude=node.string("exclude")
    )


def _kustomize(node: Node | None) -> KustomizeOptions | None:
    if node is None:
        return None
    node.require_map().only(KUSTOMIZE_FIELDS)
    for key in ("forceCommonLabels", "forceCommonAnnotations", "commonAnnotationsEnvsubst"):
        node.boolean(key)
    for key in ("patches", "replicas", "components"):
        node.items(key)
    return KustomizeOptions(
        name_prefix=node.string("namePrefix"),
        name_suffix=node.string("nameSuffix"),
        images=node.strings("images"),
        common_labels=node.string_map("commonLabels"),
        common_annotations=node.string_map("commonAnnotations"),
        namespace=node.string("namespace"),
    )


def _helm(node: Node | None) -> HelmOptions | None:
    if node is None:
        return None
    node.require_map().only(HELM_FIELDS)
    for key in (
        "passCredentials",
        "ignoreMissingValueFiles",
        "skipCrds",
        "skipTests",
        "skipSchemaValidation",
    ):
        node.boolean(key)
    values_object = node.child("valuesObject")
    if values_object is not None:
        values_object.require_map()
    if node.has("values") and values_object is not None:
        raise node.error("values and valuesObject exclude each other", "valuesObject")
    parameters = []
    for item in node.items("parameters"):
        item.require_map().only(HELM_PARAMETER_FIELDS)
        value = item.child("value")
        text = "" if value is None else _scalar_text(value)
        parameters.append(
            HelmParameter(item.string("name", required=True), text, item.boolean("forceString"))
        )
    for item in node.items("fileParameters"):
        item.require_map().only(("name", "path"))
    return HelmOptions(
        value_files=node.strings("valueFiles"),
        values=node.string("values"),
        values_object=None if values_object is None else node.raw_map("valuesObject"),
        parameters=tuple(parameters),
        release_name=node.string("releaseName"),
        namespace=node.string("namespace"),
    )


def _scalar_text(node: Node) -> str:
    """A Helm parameter value: a string, or a number or boolean written without quotes."""
    value = node.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return node.as_str()
