"""``argoproj.io/v1alpha1`` ApplicationSet read into frozen dataclasses, checked as Argo CD's CRD checks it.

Generators ``list``, ``git`` (directories and files), ``clusters``, ``matrix`` and ``merge``; the
``template`` (an Application's metadata and spec, validated by the Application parser after rendering),
``templatePatch``, ``goTemplate`` and its options, and ``syncPolicy`` (``applicationsSync`` and
``preserveResourcesOnDeletion``). Unknown fields and generators are errors naming ``file:line``,
``ApplicationSet/<name>`` and the field path. The ``RollingSync`` strategy is refused as not supported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from gitloop.model.selectors import Operator, Requirement
from gitloop.spec.fields import Node, Origin
from gitloop.spec.tekton.meta import Source, parse_meta

DEFAULT_NAMESPACE = "argocd"
GIT_REQUEUE_SECONDS = 180
"""Argo CD's default for git generators (``--requeue-after``-like): re-read the repository every 3 minutes."""

Policy = Literal["sync", "create-only", "create-update", "create-delete"]
POLICIES: tuple[Policy, ...] = ("sync", "create-only", "create-update", "create-delete")

_TOP_FIELDS = ("apiVersion", "kind", "metadata", "spec", "status")
_SPEC_FIELDS = (
    "generators",
    "template",
    "templatePatch",
    "goTemplate",
    "goTemplateOptions",
    "syncPolicy",
    "strategy",
)
_GENERATORS = ("list", "git", "clusters", "matrix", "merge")
_NOT_SUPPORTED = {
    "scmProvider": "the scmProvider generator is not supported by gitloop",
    "pullRequest": "the pullRequest generator is not supported by gitloop",
    "clusterDecisionResource": "the clusterDecisionResource generator is not supported by gitloop",
    "plugin": "the plugin generator is not supported by gitloop",
    "selector": "generator post-selectors are not supported by gitloop",
    "template": "per-generator templates are not supported by gitloop; use spec.template",
}
_OPERATORS = {
    "In": Operator.IN,
    "NotIn": Operator.NOT_IN,
    "Exists": Operator.EXISTS,
    "DoesNotExist": Operator.DOES_NOT_EXIST,
}


@dataclass(frozen=True)
class ListGenerator:
    """``list``: one parameter set per element."""

    elements: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class GitDirectory:
    """One ``git.directories`` entry: a ``path.Match`` pattern, including or (``exclude``) excluding."""

    path: str
    exclude: bool = False


@dataclass(frozen=True)
class GitGenerator:
    """``git``: the directories or the files (JSON/YAML) of one repository at one revision."""

    repo_url: str
    revision: str
    directories: tuple[GitDirectory, ...] = ()
    files: tuple[str, ...] = ()
    path_param_prefix: str = ""
    values: Mapping[str, str] = field(default_factory=dict)
    requeue_after_seconds: int = GIT_REQUEUE_SECONDS


@dataclass(frozen=True)
class ClusterGenerator:
    """``clusters``: the registered clusters whose labels match ``selector`` (every one when empty)."""

    selector: tuple[Requirement, ...] = ()
    values: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MatrixGenerator:
    """``matrix``: the cartesian product of two generators; the second may use the first's parameters,
    so it is kept as written (``second_raw``) and read again once per parameter set of the first."""

    first: Generator
    second: Generator
    second_raw: Mapping[str, Any]
    where: str = ""
    """The second generator's field path, for errors after it is rendered."""


@dataclass(frozen=True)
class MergeGenerator:
    """``merge``: the first generator's parameter sets, each overridden by the later generators' sets
    that have the same values for ``merge_keys``."""

    merge_keys: tuple[str, ...]
    generators: tuple[Generator, ...]


Generator = ListGenerator | GitGenerator | ClusterGenerator | MatrixGenerator | MergeGenerator


@dataclass(frozen=True)
class ApplicationSet:
    """An Argo CD ApplicationSet: generators, the Application template, and what the controller may do."""

    name: str
    generators: tuple[Generator, ...]
    template: Mapping[str, Any]
    namespace: str = DEFAULT_NAMESPACE
    template_patch: str | None = None
    go_template: bool = False
    go_template_options: tuple[str, ...] = ()
    policy: Policy = "sync"
    preserve_resources_on_deletion: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)
    origin: Source | None = None
    document: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """The document as written (``metadata`` and ``spec``, plain data): what the API shows and the store keeps."""

    @property
    def owner(self) -> str:
        """The owner string its Applications are registered under."""
        return f"appset:{self.name}"

    @property
    def allows_update(self) -> bool:
        return self.policy in ("sync", "create-update")

    @property
    def allows_delete(self) -> bool:
        return self.policy in ("sync", "create-delete")

    def git_generators(self) -> list[GitGenerator]:
        """Every git generator, nested ones included (a matrix's second only as written, unrendered)."""
        found: list[GitGenerator] = []
        stack: list[Generator] = list(self.generators)
        while stack:
            gen = stack.pop()
            if isinstance(gen, GitGenerator):
                found.append(gen)
            elif isinstance(gen, MatrixGenerator):
                stack.extend((gen.first, gen.second))
            elif isinstance(gen, MergeGenerator):
                stack.extend(gen.generators)
        return found


def parse_applicationset(body: Node, source: Source) -> ApplicationSet:
    """An ``ApplicationSet`` document (``apiVersion`` and ``kind`` already checked)."""
    body.only(_TOP_FIELDS)
    meta = parse_meta(body)
    spec = body.child("spec")
    if spec is None:
        raise body.error("required field is missing", "spec")
    spec.require_map().only(_SPEC_FIELDS)
    generators = spec.items("generators")
    if not generators:
        raise spec.error("required field is missing: at least one generator", "generators")
    template = spec.child("template")
    if template is None:
        raise spec.error("required field is missing", "template")
    template.require_map().only(("metadata", "spec"))
    for key in ("metadata", "spec"):
        part = template.child(key)
        if part is not None:
            part.require_map()
    go_template = spec.boolean("goTemplate")
    patch = spec.child("templatePatch")
    if patch is not None:
        patch.as_str()
        if not go_template:
            raise patch.error("templatePatch requires goTemplate: true (as in Argo CD)")
    policy, preserve = _sync_policy(spec.child("syncPolicy"))
    _strategy(spec.child("strategy"))
    return ApplicationSet(
        name=meta.name,
        namespace=meta.namespace or DEFAULT_NAMESPACE,
        generators=tuple(parse_generator(g) for g in generators),
        template=template.raw_map(),
        template_patch=None if patch is None else patch.as_str(),
        go_template=go_template,
        go_template_options=_options(spec),
        policy=policy,
        preserve_resources_on_deletion=preserve,
        labels=dict(meta.labels),
        origin=source,
        document={k: v for k, v in body.raw_map().items() if k != "status"},
    )


def parse_generator(node: Node) -> Generator:
    """One entry of ``generators`` (or of a matrix's or merge's ``generators``): exactly one kind."""
    node.require_map()
    for key in node.value:
        if key in _NOT_SUPPORTED:
            raise node.field(key).error(_NOT_SUPPORTED[key])
    node.only(_GENERATORS)
    kinds = [k for k in _GENERATORS if node.has(k)]
    if len(kinds) != 1:
        named = ", ".join(kinds) or "none"
        raise node.error(f"a generator must have exactly one of {', '.join(_GENERATORS)} (got {named})")
    [kind] = kinds
    inner = node.field(kind).require_map()
    if kind == "list":
        return _list(inner)
    if kind == "git":
        return _git(inner)
    if kind == "clusters":
        return _clusters(inner)
    if kind == "matrix":
        return _matrix(inner)
    return _merge(inner)


def reparse_generator(raw: Mapping[str, Any], where: str, origin: Origin) -> Generator:
    """A generator read again from plain data (a matrix's second one after rendering)."""
    return parse_generator(Node(dict(raw), where, origin))


def _list(node: Node) -> ListGenerator:
    node.only(("elements",), {"elementsYaml": "elementsYaml is not supported by gitloop; use elements"})
    elements = []
    for item in node.items("elements"):
        elements.append(item.require_map().raw_map())
    return ListGenerator(elements=tuple(elements))


def _git(node: Node) -> GitGenerator:
    node.only(
        ("repoURL", "revision", "directories", "files", "pathParamPrefix", "values", "requeueAfterSeconds")
    )
    directories = []
    for item in node.items("directories"):
        item.require_map().only(("path", "exclude"))
        directories.append(GitDirectory(item.string("path", required=True), item.boolean("exclude")))
    files = []
    for item in node.items("files"):
        item.require_map().only(("path",), {"exclude": "files entries do not take exclude in gitloop"})
        files.append(item.string("path", required=True))
    if bool(directories) == bool(files):
        raise node.error("a git generator needs exactly one of directories or files", "directories")
    if directories and all(d.exclude for d in directories):
        raise node.error("every directories entry excludes: nothing could match", "directories")
    return GitGenerator(
        repo_url=node.string("repoURL", required=True),
        revision=node.string("revision", required=True),
        directories=tuple(directories),
        files=tuple(files),
        path_param_prefix=node.string("pathParamPrefix"),
        values=node.string_map("values"),
        requeue_after_seconds=node.integer("requeueAfterSeconds", GIT_REQUEUE_SECONDS, minimum=0),
    )


def _clusters(node: Node) -> ClusterGenerator:
    node.only(("selector", "values"), {"flatList": "flatList is not supported by gitloop"})
    requirements: list[Requirement] = []
    selector = node.child("selector")
    if selector is not None:
        selector.require_map().only(("matchLabels", "matchExpressions"))
        for key, value in selector.string_map("matchLabels").items():
            requirements.append(Requirement(key, Operator.EQUALS, frozenset({value})))
        for item in selector.items("matchExpressions"):
            item.require_map().only(("key", "operator", "values"))
            operator = _OPERATORS[item.one_of("operator", tuple(_OPERATORS))]
            values = item.strings("values")
            if operator in (Operator.IN, Operator.NOT_IN) and not values:
                raise item.error("values must not be empty for In and NotIn", "values")
            if operator in (Operator.EXISTS, Operator.DOES_NOT_EXIST) and values:
                raise item.error("values must be empty for Exists and DoesNotExist", "values")
            requirements.append(Requirement(item.string("key", required=True), operator, frozenset(values)))
    return ClusterGenerator(selector=tuple(requirements), values=node.string_map("values"))


def _matrix(node: Node) -> MatrixGenerator:
    node.only(("generators",))
    children = node.items("generators")
    if len(children) != 2:
        raise node.error(f"a matrix needs exactly two generators, got {len(children)}", "generators")
    first, second = (parse_generator(c) for c in children)
    return MatrixGenerator(
        first=first, second=second, second_raw=children[1].raw_map(), where=children[1].path
    )


def _merge(node: Node) -> MergeGenerator:
    node.only(("mergeKeys", "generators"))
    keys = node.strings("mergeKeys")
    if not keys:
        raise node.error("no merge keys were specified; merge requires at least one", "mergeKeys")
    children = node.items("generators")
    if len(children) < 2:
        raise node.error(f"a merge needs two or more generators, got {len(children)}", "generators")
    return MergeGenerator(merge_keys=keys, generators=tuple(parse_generator(c) for c in children))


def _sync_policy(node: Node | None) -> tuple[Policy, bool]:
    if node is None:
        return "sync", False
    node.require_map().only(("applicationsSync", "preserveResourcesOnDeletion"))
    return node.one_of("applicationsSync", POLICIES, "sync"), node.boolean("preserveResourcesOnDeletion")


def _strategy(node: Node | None) -> None:
    if node is None:
        return
    node.require_map().only(("type", "rollingSync"))
    kind = node.one_of("type", ("AllAtOnce", "RollingSync"), "AllAtOnce")
    if kind == "RollingSync" or node.has("rollingSync"):
        raise node.error("the RollingSync strategy is not supported by gitloop; use AllAtOnce", "type")


def _options(spec: Node) -> tuple[str, ...]:
    options = spec.strings("goTemplateOptions")
    for i, option in enumerate(options):
        if not option.startswith("missingkey="):
            raise spec.field("goTemplateOptions").error(
                f"unsupported option {option!r} at [{i}]: Go's templates take missingkey=default|zero|error"
            )
    return options
