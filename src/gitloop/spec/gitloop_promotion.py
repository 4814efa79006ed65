"""``gitloop.dev/v1alpha1`` PromotionChain: gitloop's own resource naming an ordered chain of
environments (stages), each an Application or the Applications an ApplicationSet generates, where its
image is written, and what lets a change into it.

It is kept in git beside the Applications. ``spec.stages[]`` is ordered; the first stage is where the
pipeline writes images (it has no gate); every later stage has exactly one gate:

- ``auto: {soak, verification}``: promoted once the upstream stage's Application has been Synced and
  Healthy at the source commit for ``soak`` (a Go duration, default ``0s``) and, when ``verification``
  names a post-sync pipeline, that pipeline's run Succeeded;
- ``approval: {requiredApprovals, roles, excludeAuthor}``: promoted after ``requiredApprovals``
  distinct users approved, only users holding one of ``roles`` (``role:...``) when given, and never
  the author of the change when ``excludeAuthor`` (default true).

A stage is exactly one of ``application: NAME`` or ``applicationSet: NAME`` (the Applications that
ApplicationSet generates now, narrowed by an optional Kubernetes ``selector`` — ``matchLabels`` and
``matchExpressions`` — over their labels).

``image`` says where the image is written: a YAML ``path`` (a file, as the handoff's ``--file``) or a
Kustomize ``overlay`` directory, and the image ``name``. For an ``applicationSet`` stage a literal
``path``/``overlay`` is one file all its Applications share; ``overlay: fromApplication`` is each
generated Application's own ``spec.source.path`` (its ``kustomization.yaml``). Unknown fields are errors
naming the field.
``parse_chain`` reads one document; ``load_chains`` reads the PromotionChains of files and directories,
passing over the Argo CD documents that sit beside them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from gitloop.errors import SpecError
from gitloop.spec.fields import Node, Origin, type_name
from gitloop.spec.tekton.meta import Source, object_label, parse_meta
from gitloop.spec.triggers.common import LabelSelector, parse_label_selector
from gitloop.spec.yaml.documents import YAML_SUFFIXES, Document, load_file, load_text

API_VERSION = "gitloop.dev/v1alpha1"
KIND = "PromotionChain"
_TOP_FIELDS = ("apiVersion", "kind", "metadata", "spec")
_STAGE_FIELDS = ("name", "application", "applicationSet", "selector", "image", "auto", "approval")
FROM_APPLICATION = "fromApplication"
"""``image.overlay`` of an ``applicationSet`` stage: each generated Application's ``spec.source.path``."""
_ROLE_PREFIX = "role:"


@dataclass(frozen=True)
class StageImage:
    """Where a stage's image is written: a YAML file ``path`` or a Kustomize ``overlay``, and its ``name``."""

    name: str
    path: str = ""
    overlay: str = ""

    @property
    def from_application(self) -> bool:
        """Whether each Application's own ``spec.source.path`` is the overlay (``fromApplication``)."""
        return self.overlay == FROM_APPLICATION


@dataclass(frozen=True)
class AutoGate:
    """``auto``: the upstream stage Synced and Healthy at the commit for ``soak`` seconds, and the
    post-sync pipeline ``verification`` (``None``: none) Succeeded."""

    soak: float = 0.0
    verification: str | None = None


@dataclass(frozen=True)
class ApprovalGate:
    """``approval``: ``required_approvals`` distinct users, from ``roles`` when given, author excluded."""

    required_approvals: int = 1
    roles: tuple[str, ...] = ()
    exclude_author: bool = True


@dataclass(frozen=True)
class Stage:
    """One environment of a chain; ``gate`` is ``None`` only for the first stage. Exactly one of
    ``application`` and ``application_set`` is set; ``selector`` narrows an ApplicationSet's Applications."""

    name: str
    application: str
    image: StageImage
    gate: AutoGate | ApprovalGate | None = None
    application_set: str = ""
    selector: LabelSelector | None = None

    @property
    def target(self) -> str:
        """What the stage is, for messages: ``Application NAME`` or ``ApplicationSet NAME``."""
        if self.application_set:
            return f"ApplicationSet {self.application_set}"
        return f"Application {self.application}"

    def selects(self, labels: Mapping[str, str]) -> bool:
        """Whether a generated Application with ``labels`` is one of this stage's (no selector: all)."""
        return self.selector is None or self.selector.matches(labels)


@dataclass(frozen=True)
class PromotionChain:
    """An ordered chain of stages; ``stage``, ``upstream`` and ``next_after`` walk it."""

    name: str
    stages: tuple[Stage, ...]
    origin: Source | None = None

    def stage(self, name: str) -> Stage:
        """The stage ``name``; ``SpecError`` listing the chain's stages otherwise."""
        for stage in self.stages:
            if stage.name == name:
                return stage
        known = ", ".join(s.name for s in self.stages)
        raise SpecError(f"PromotionChain {self.name!r} has no stage {name!r} (stages: {known})")

    def upstream(self, name: str) -> Stage:
        """The stage before ``name``; ``SpecError`` for the first stage, which nothing promotes into."""
        index = self.stages.index(self.stage(name))
        if index == 0:
            raise SpecError(
                f"stage {name!r} is the first of PromotionChain {self.name!r}: the pipeline writes its "
                "images, nothing is promoted into it"
            )
        return self.stages[index - 1]

    def next_after(self, name: str) -> Stage | None:
        """The stage after ``name`` (``None`` for the last)."""
        index = self.stages.index(self.stage(name))
        return self.stages[index + 1] if index + 1 < len(self.stages) else None

    def stage_of_application(self, application: str) -> Stage | None:
        """The stage that is the Application (or the ApplicationSet) named ``application``."""
        for stage in self.stages:
            if application in (stage.application, stage.application_set):
                return stage
        return None


def parse_chain(body: Node, source: Source | None = None) -> PromotionChain:
    """A PromotionChain from its document body (``apiVersion`` and ``kind`` already checked)."""
    body.only(_TOP_FIELDS)
    meta = parse_meta(body)
    spec = body.child("spec")
    if spec is None:
        raise body.error("required field is missing", "spec")
    spec.only(("stages",))
    items = spec.items("stages")
    if len(items) < 2:
        raise spec.error(
            "a chain needs at least two stages (where images arrive, and one to promote to)", "stages"
        )
    stages: list[Stage] = []
    for index, item in enumerate(items):
        stage = _stage(item, first=index == 0)
        for earlier in stages:
            if earlier.name == stage.name:
                raise item.error(f"stage {stage.name!r} is named twice", "name")
            if earlier.application and earlier.application == stage.application:
                raise item.error(
                    f"Application {stage.application!r} is already stage {earlier.name!r}", "application"
                )
            if earlier.application_set and earlier.application_set == stage.application_set:
                raise item.error(
                    f"ApplicationSet {stage.application_set!r} is already stage {earlier.name!r}",
                    "applicationSet",
                )
        stages.append(stage)
    return PromotionChain(name=meta.name, stages=tuple(stages), origin=source)


def _stage(node: Node, *, first: bool) -> Stage:
    node.require_map().only(_STAGE_FIELDS)
    name = node.string("name", required=True)
    application, application_set, selector = _target(node)
    image_node = node.child("image")
    if image_node is None:
        raise node.error("required field is missing: where the stage's image is written", "image")
    image_node.require_map().only(("name", "path", "overlay"))
    image = StageImage(
        name=image_node.string("name", required=True),
        path=image_node.string("path"),
        overlay=image_node.string("overlay"),
    )
    if bool(image.path) == bool(image.overlay):
        raise image_node.error("give exactly one of path (a YAML file) or overlay (a Kustomize directory)")
    if image.from_application and not application_set:
        raise image_node.error(
            f"{FROM_APPLICATION} is for an applicationSet stage (each generated Application's "
            "spec.source.path); an Application stage names its overlay directory",
            "overlay",
        )
    stage = Stage(name, application, image, application_set=application_set, selector=selector)
    auto, approval = node.child("auto"), node.child("approval")
    if first:
        for gate in (auto, approval):
            if gate is not None:
                raise gate.error("the first stage has no gate: the pipeline writes its images")
        return stage
    if (auto is None) == (approval is None):
        raise node.error("give exactly one of auto or approval: how a change gets into this stage")
    if auto is not None:
        return replace(stage, gate=_auto(auto))
    assert approval is not None
    return replace(stage, gate=_approval(approval))


def _target(node: Node) -> tuple[str, str, LabelSelector | None]:
    """``application``, ``applicationSet`` (exactly one given) and the ``selector`` (only with the latter)."""
    for key in ("application", "applicationSet"):
        found = node.child(key)
        if found is not None and not found.as_str():
            raise found.error("must not be empty")
    application, application_set = node.string("application"), node.string("applicationSet")
    if bool(application) == bool(application_set):
        raise node.error(
            "give exactly one of application (an Application) or applicationSet (the Applications an "
            "ApplicationSet generates)",
            "applicationSet" if application else "application",
        )
    selector_node = node.child("selector")
    if selector_node is not None and not application_set:
        raise selector_node.error(
            "a selector picks among an applicationSet's Applications; this stage has none"
        )
    selector = None if selector_node is None else parse_label_selector(selector_node)
    return application, application_set, selector


def _auto(node: Node) -> AutoGate:
    node.require_map().only(("soak", "verification"))
    verification = node.child("verification")
    return AutoGate(
        soak=node.duration("soak") or 0.0,
        verification=None if verification is None else (verification.as_str() or None),
    )


def _approval(node: Node) -> ApprovalGate:
    node.require_map().only(("requiredApprovals", "roles", "excludeAuthor"))
    roles = node.strings("roles")
    for index, role in enumerate(roles):
        if not role.startswith(_ROLE_PREFIX) or len(role) == len(_ROLE_PREFIX):
            raise node.error(f"{role!r} is not a role: roles are named role:<name>", f"roles[{index}]")
    return ApprovalGate(
        required_approvals=node.integer("requiredApprovals", 1, minimum=1),
        roles=roles,
        exclude_author=node.boolean("excludeAuthor", True),
    )


def parse_chain_document(document: Document) -> PromotionChain | None:
    """The PromotionChain of one document; ``None`` for a document of another kind."""
    origin = Origin(document.file)
    body = Node(document.body, "", origin, document.line)
    kind, api_version = document.body.get("kind"), document.body.get("apiVersion")
    if kind != KIND:
        return None
    origin.obj = object_label(KIND, body)
    if api_version != API_VERSION:
        shown = api_version if isinstance(api_version, str) else type_name(api_version)
        raise body.field("apiVersion").error(
            f"unsupported apiVersion {shown!r} for {KIND}; use {API_VERSION}"
        )
    return parse_chain(body, Source(document.file, document.line))


def parse_chains_text(text: str, file: str = "<string>") -> Mapping[str, PromotionChain]:
    """The PromotionChains of one YAML stream, by name."""
    return _collect(parse_chain_document(d) for d in load_text(text, file))


def load_chains(paths: Iterable[str | Path]) -> Mapping[str, PromotionChain]:
    """The PromotionChains in files and (recursively) directories, by name."""
    found: list[PromotionChain | None] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file())
        elif path.exists():
            files = [path]
        else:
            raise SpecError("no such file or directory", file=str(path))
        for file in files:
            found.extend(parse_chain_document(d) for d in load_file(file))
    return _collect(found)


def _collect(chains: Iterable[PromotionChain | None]) -> Mapping[str, PromotionChain]:
    out: dict[str, PromotionChain] = {}
    for chain in chains:
        if chain is None:
            continue
        earlier = out.get(chain.name)
        if earlier is not None:
            raise SpecError(
                f"{KIND} {chain.name!r} is defined twice (first at {earlier.origin})",
                file=str(chain.origin) if chain.origin else None,
                obj=f"{KIND}/{chain.name}",
            )
        out[chain.name] = chain
    return out
