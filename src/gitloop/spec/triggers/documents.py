"""From YAML documents to a ``TriggerSet``: EventListeners and the Triggers, bindings, templates and Secrets
they use.

Read kinds: ``EventListener``, ``Trigger``, ``TriggerBinding``, ``ClusterTriggerBinding`` and
``TriggerTemplate`` (``triggers.tekton.dev/v1beta1``, and ``v1alpha1`` where its shape is the same), and
``Secret`` (``v1``), whose values go into ``SecretValues`` and nowhere else. Another kind is an error
unless ``other_kinds="skip"`` (a directory that also holds the Pipelines and Tasks); so are two objects of
one kind with the same name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeAlias, TypeVar

from gitloop.errors import SpecError
from gitloop.spec.fields import Node, Origin, type_name
from gitloop.spec.tekton.core import Secret, parse_secret
from gitloop.spec.tekton.meta import Source, object_label
from gitloop.spec.triggers.common import API_VERSIONS
from gitloop.spec.triggers.listener import EventListener, parse_event_listener
from gitloop.spec.triggers.resolve import Catalog, ResolvedListener, resolve_listener
from gitloop.spec.triggers.secrets import SecretValues
from gitloop.spec.triggers.templates import (
    TriggerBinding,
    TriggerTemplate,
    parse_trigger_binding,
    parse_trigger_template,
)
from gitloop.spec.triggers.triggers import Trigger, parse_trigger
from gitloop.spec.yaml.documents import Document, load_path, load_text

TriggersObject: TypeAlias = EventListener | Trigger | TriggerBinding | TriggerTemplate | Secret
OtherKinds = Literal["error", "skip"]
T = TypeVar("T", EventListener, Trigger, TriggerBinding, TriggerTemplate, Secret)
KINDS = ("EventListener", "Trigger", "TriggerBinding", "ClusterTriggerBinding", "TriggerTemplate")


@dataclass(frozen=True)
class TriggerSet:
    """Every Triggers object of some files, by kind and name, and the values of their Secrets."""

    listeners: Mapping[str, EventListener] = field(default_factory=dict)
    catalog: Catalog = field(default_factory=Catalog)
    secrets: SecretValues = field(default_factory=SecretValues)

    def listener(self, name: str) -> ResolvedListener:
        """The EventListener ``name`` with its references followed."""
        found = self.listeners.get(name)
        if found is None:
            known = ", ".join(sorted(self.listeners)) or "none"
            raise SpecError(f"no EventListener named {name!r} (known: {known})")
        return resolve_listener(found, self.catalog)

    def resolve_all(self) -> dict[str, ResolvedListener]:
        """Every listener, resolved; the first broken reference raises ``SpecError``."""
        return {name: resolve_listener(listener, self.catalog) for name, listener in self.listeners.items()}


def parse_document(document: Document, other_kinds: OtherKinds = "error") -> TriggersObject | None:
    """The object in one document; ``None`` for another kind when ``other_kinds`` is ``"skip"``."""
    origin = Origin(document.file)
    body = Node(document.body, "", origin, document.line)
    kind, api_version = document.body.get("kind"), document.body.get("apiVersion")
    for key, value in (("apiVersion", api_version), ("kind", kind)):
        if not value:
            raise body.error("required field is missing; every Kubernetes object needs one", key)
        if not isinstance(value, str):
            raise body.error(f"must be a string, got {type_name(value)}", key)
    assert isinstance(kind, str) and isinstance(api_version, str)
    origin.obj = object_label(kind, body)
    source = Source(document.file, document.line)
    if kind == "Secret" and api_version == "v1":
        return parse_secret(body, source)
    if kind not in KINDS:
        if other_kinds == "skip":
            return None
        raise body.field("kind").error(
            f"unsupported kind {kind!r} ({api_version}); a triggers file holds {', '.join(KINDS)} "
            f"({API_VERSIONS[0]}) and Secret (v1)"
        )
    if api_version not in API_VERSIONS:
        raise body.field("apiVersion").error(
            f"unsupported apiVersion {api_version!r} for {kind}; use {API_VERSIONS[0]}"
        )
    if kind == "EventListener":
        return parse_event_listener(body, api_version, source)
    if kind == "Trigger":
        return parse_trigger(body, api_version, source)
    if kind == "TriggerTemplate":
        return parse_trigger_template(body, source)
    return parse_trigger_binding(
        body, "ClusterTriggerBinding" if kind == "ClusterTriggerBinding" else "TriggerBinding", source
    )


def _add(table: dict[str, T], obj: T, kind: str) -> None:
    name = obj.meta.name
    if name in table:
        raise SpecError(
            f"{kind} {name!r} is defined twice (first at {table[name].source})",
            file=str(obj.source or "") or None,
            obj=f"{kind}/{name}",
        )
    table[name] = obj


def collect(objects: Iterable[TriggersObject]) -> TriggerSet:
    """A ``TriggerSet`` of parsed objects; two objects of one kind and name are an error."""
    listeners: dict[str, EventListener] = {}
    triggers: dict[str, Trigger] = {}
    bindings: dict[str, TriggerBinding] = {}
    cluster_bindings: dict[str, TriggerBinding] = {}
    templates: dict[str, TriggerTemplate] = {}
    secrets: dict[str, Secret] = {}
    for obj in objects:
        if isinstance(obj, EventListener):
            _add(listeners, obj, "EventListener")
        elif isinstance(obj, Trigger):
            _add(triggers, obj, "Trigger")
        elif isinstance(obj, TriggerTemplate):
            _add(templates, obj, "TriggerTemplate")
        elif isinstance(obj, TriggerBinding):
            _add(cluster_bindings if obj.kind == "ClusterTriggerBinding" else bindings, obj, obj.kind)
        else:
            _add(secrets, obj, "Secret")
    catalog = Catalog(triggers, bindings, cluster_bindings, templates)
    return TriggerSet(listeners, catalog, SecretValues.from_secrets(secrets.values()))


def parse_text(text: str, file: str = "<string>", other_kinds: OtherKinds = "error") -> TriggerSet:
    """Every Triggers object of one YAML stream."""
    parsed = (parse_document(d, other_kinds) for d in load_text(text, file))
    return collect(o for o in parsed if o is not None)


def load(paths: Iterable[str | Path], other_kinds: OtherKinds = "error") -> TriggerSet:
    """Every Triggers object of files and directories (a directory's ``*.yaml``/``*.yml``/``*.json``)."""
    parsed = (parse_document(d, other_kinds) for path in paths for d in load_path(Path(path)))
    return collect(o for o in parsed if o is not None)
